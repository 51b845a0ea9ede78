"""Register, sign in (with a lock-out per account and address), sign out, change the password,
sign out everywhere."""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import urlsplit

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import error_response
from ..extensions import db
from ..models import User
from ..security import wants_json
from . import bp, lockout
from .forms import ChangePasswordForm, LoginForm, RegisterForm, normalise_email, normalise_phone
from .passwords import hash_password, needs_rehash, verify_password
from .sessions import end_every_session, start_session

log = logging.getLogger(__name__)

_DUMMY_HASH: dict[str, str] = {}


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (no scheme, no host, no '//'), else ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def _email_taken_message() -> str:
    return _("An account with this e-mail already exists. Sign in instead.")


def _create_customer(form: RegisterForm, email: str) -> User | None:
    """The new account, or ``None`` when the e-mail is taken, also by a registration that committed
    between our check and our insert (a double-clicked "Create account": the unique index decides)."""
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        return None
    user = User(
        email=email,
        name=form.name.data.strip(),
        phone=normalise_phone(form.phone.data),
        password_hash=hash_password(form.password.data),
        role="customer",
        locale=form.locale.data if form.locale.data in ("en", "it") else "en",
    )
    user.set_consent(snapshots=bool(form.consent_snapshots.data), contact=bool(form.consent_contact.data))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            raise  # some other constraint: a real error
        return None
    return user


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("profile.index"))
    form = RegisterForm()
    if request.method == "GET":
        form.locale.data = session.get("lang") or request.accept_languages.best_match(["en", "it"]) or "en"
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        user = _create_customer(form, email)
        if user is None:
            form.email.errors.append(_email_taken_message())
        else:
            session["lang"] = user.locale
            start_session(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next"), url_for("profile.index")))
    return render_template(
        "auth/register.html", form=form
    ), 200 if request.method == "GET" or not form.errors else 400


def _locked_out(form: LoginForm, wait: lockout.Wait) -> Any:
    """The refusal of a locked-out sign-in: how long to wait, in words, and ``Retry-After``."""
    words = format_timedelta(lockout.rounded_up_to_minutes(wait.duration), threshold=1)
    if wait.whole_address:
        message = _(
            "Too many attempts: too many wrong passwords from your connection. "
            "Please wait %(wait)s and try again.",
            wait=words,
        )
    else:
        message = _(
            "Too many attempts: too many wrong passwords for this account from your connection. "
            "Please wait %(wait)s and try again. Other accounts are not affected.",
            wait=words,
        )
    if wants_json():
        response = make_response(error_response(429, message))
    else:
        form.password.errors.append(message)
        response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(math.ceil(wait.duration.total_seconds()))
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("profile.index")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        address = request.remote_addr or "unknown"
        wait = lockout.wait_before_login(email, address)
        if wait is not None:
            log.info("sign-in refused: locked out for %s more", wait.duration)
            return _locked_out(form, wait)
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            # Spend the same time as a real check, so response times do not reveal accounts.
            if "hash" not in _DUMMY_HASH:
                _DUMMY_HASH["hash"] = hash_password("not a password")
            verify_password(_DUMMY_HASH["hash"], form.password.data)
        elif verify_password(user.password_hash, form.password.data):
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
                db.session.commit()
            if user.locale in ("en", "it") and "lang" not in session:
                session["lang"] = user.locale
            lockout.record_success(email, address)
            start_session(user)
            flash(_("Signed in. Welcome back, %(name)s.", name=user.name), "success")
            default = url_for("staff.index") if user.is_staff else url_for("profile.index")
            return redirect(safe_next(request.args.get("next"), default))
        lockout.record_failure(email, address)
        form.password.errors.append(_("Wrong e-mail or password."))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    """Sign out: the account's session token changes, so no copy of this cookie works any more."""
    end_every_session(current_user._get_current_object())
    flash(_("You have signed out."), "info")
    return redirect(url_for("home.index"))


@bp.post("/sessions/end")
@login_required
def sign_out_everywhere() -> Any:
    """End every session of the account, on every device, this one included."""
    end_every_session(current_user._get_current_object())
    flash(_("You have been signed out on every device. Sign in again to continue."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Change the password (the current one first); every other session of the account ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("Your current password is not right."))
        else:
            user.password_hash = hash_password(form.password.data)
            end_every_session(user, keep_this_one=True)  # commits
            flash(_("Your password has been changed. You are signed out on your other devices."), "success")
            return redirect(url_for("profile.index") + "#security")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status
