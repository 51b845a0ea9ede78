"""Sign-in and registration forms."""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

# Deliberately simple: one "@", a dot in the domain, no spaces (the mailbox is proven by use).
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{6,25}$")

try:  # WTForms >= 3.3 declares options as SelectChoice (tuples are deprecated there)
    from wtforms import SelectChoice

    LANGUAGE_CHOICES: list = [SelectChoice("en", "English"), SelectChoice("it", "Italiano")]
except ImportError:  # pragma: no cover - older WTForms
    LANGUAGE_CHOICES = [("en", "English"), ("it", "Italiano")]


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str | None) -> str | None:
    """Digits and a leading '+' only ("+39 02 1234-567" -> "+39021234567"), None when empty."""
    if not value or not value.strip():
        return None
    value = value.strip()
    return ("+" if value.startswith("+") else "") + re.sub(r"\D", "", value)


def _email(_form: FlaskForm, field: EmailField) -> None:
    if not EMAIL_RE.match((field.data or "").strip()):
        raise ValidationError(_l("Enter a valid e-mail address, like name@example.com."))


def _phone(_form: FlaskForm, field: TelField) -> None:
    if field.data and not PHONE_RE.match(field.data.strip()):
        raise ValidationError(_l("Enter a phone number with digits only, like +39 02 1234 5678."))


def _password_strength(_form: FlaskForm, field: PasswordField) -> None:
    minimum = int(current_app.config["PASSWORD_MIN_LENGTH"])
    if len(field.data or "") < minimum:
        raise ValidationError(_l("Use at least %(n)d characters.", n=minimum))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class RegisterForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(min=2, max=120)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254), _email])
    phone = TelField(_l("Phone (optional)"), validators=[Optional(), Length(max=40), _phone])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=1024), _password_strength]
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="en")
    consent_snapshots = BooleanField(_l("Keep my try-on snapshots and face measurements in my profile"))
    consent_contact = BooleanField(_l("E-mail me reminders about my fittings and occasional news"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=1024), _password_strength]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords do not match."))],
    )
