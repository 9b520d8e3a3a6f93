from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from riskassess.forms import BaseForm


class LoginForm(BaseForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class LogoutForm(BaseForm):
    pass


class LanguageForm(BaseForm):
    lang = HiddenField(validators=[DataRequired()])


class ResetForm(BaseForm):
    """Choosing a new password with the one-time code an administrator gave."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    code = StringField(
        _l("Code"),
        description=_l("The code from your administrator, for example ABCD-EFGH-JKLM."),
        validators=[DataRequired(), Length(max=40)],
    )
    password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters; not a common password or a variation of one."),
        validators=[DataRequired(), Length(max=200)],
    )
    repeat = PasswordField(
        _l("The new password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
