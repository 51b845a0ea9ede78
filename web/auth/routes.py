"""Register, sign in, sign out."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import User
from . import bp
from .forms import LoginForm, RegisterForm, normalise_email, normalise_phone
from .passwords import hash_password, needs_rehash, verify_password

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


def _login(user: User) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session on sign-in (no fixation)
    if lang:
        session["lang"] = lang
    session.permanent = True
    login_user(user)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("profile.index"))
    form = RegisterForm()
    if request.method == "GET":
        form.locale.data = session.get("lang") or request.accept_languages.best_match(["en", "it"]) or "en"
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            form.email.errors.append(_("An account with this e-mail already exists. Sign in instead."))
        else:
            user = User(
                email=email,
                name=form.name.data.strip(),
                phone=normalise_phone(form.phone.data),
                password_hash=hash_password(form.password.data),
                role="customer",
                locale=form.locale.data if form.locale.data in ("en", "it") else "en",
            )
            user.set_consent(
                snapshots=bool(form.consent_snapshots.data), contact=bool(form.consent_contact.data)
            )
            db.session.add(user)
            db.session.commit()
            session["lang"] = user.locale
            _login(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next"), url_for("profile.index")))
    return render_template(
        "auth/register.html", form=form
    ), 200 if request.method == "GET" or not form.errors else 400


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("profile.index")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
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
            _login(user)
            flash(_("Signed in. Welcome back, %(name)s.", name=user.name), "success")
            default = url_for("staff.index") if user.is_staff else url_for("profile.index")
            return redirect(safe_next(request.args.get("next"), default))
        form.password.errors.append(_("Wrong e-mail or password."))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Any:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("home.index"))
