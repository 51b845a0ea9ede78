"""Profile forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.forms import _phone


class DetailsForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(min=2, max=120)])
    phone = TelField(_l("Phone (optional)"), validators=[Optional(), Length(max=40), _phone])


class ConsentForm(FlaskForm):
    snapshots = BooleanField(_l("Keep my try-on snapshots and face measurements in my profile"))
    contact = BooleanField(_l("E-mail me reminders about my fittings and occasional news"))


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=1024)])
    confirm = BooleanField(
        _l("I understand that my account, favourites, snapshots and bookings will be deleted for good"),
        validators=[DataRequired(message=_l("Please tick the box to confirm."))],
    )
