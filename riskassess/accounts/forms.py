from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext
from wtforms import (
    DateField,
    Field,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from riskassess.accounts.raters import COURSE_MAX, training_date_problem
from riskassess.forms import BaseForm, OptionalChoice
from riskassess.i18n import lazy_gettext as _l

# How people read the roles (the role codes are the permission vocabulary's).
ROLE_LABELS = {
    "caseworker": _l("Caseworker"),
    "supervisor": _l("Supervisor"),
    "trainer": _l("Trainer"),
    "admin": _l("Administrator"),
    "auditor": _l("Auditor"),
    "manager": _l("Manager"),
}


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


class CodeForm(BaseForm):
    """A code from the authenticator app, or at login a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(message=_l("Type the code.")), Length(max=20)],
    )


class UserRoleForm(BaseForm):
    role = SelectField(_l("Role"), validators=[DataRequired()])
    unit = SelectField(
        _l("Unit"),
        description=_l("Caseworkers and supervisors only."),
        validators=[OptionalChoice()],
    )

    def __init__(self, roles: list[SelectChoice], units: list[SelectChoice], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.role.choices = roles
        self.unit.choices = [SelectChoice("", _l("No unit")), *units]


class UserCreateForm(UserRoleForm):
    username = StringField(
        _l("Username"),
        description=_l("Lower-case letters, digits, dots and dashes, for example anna.berg."),
        validators=[
            DataRequired(),
            Length(min=2, max=80),
            Regexp(
                r"^[a-z0-9][a-z0-9._-]*$",
                message=_l("Use lower-case letters, digits, dots, dashes and underscores."),
            ),
        ],
    )
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


class UserStateForm(BaseForm):
    enabled = SelectField(
        choices=[SelectChoice("1", _l("Enable")), SelectChoice("0", _l("Disable"))],
        validators=[DataRequired()],
    )


class UserExpiryForm(BaseForm):
    last_day = DateField(
        _l("Last day the account may be used"),
        description=_l("Leave empty for no end date."),
        validators=[Optional()],
    )


class ResetCodeForm(BaseForm):
    pass


class UnitForm(BaseForm):
    code = StringField(
        _l("Code"),
        description=_l("Short and permanent: lower-case letters, digits and dashes."),
        validators=[
            DataRequired(),
            Length(max=40),
            Regexp(r"^[a-z0-9-]+$", message=_l("Use lower-case letters, digits and dashes.")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


class UnitRenameForm(BaseForm):
    name = StringField(_l("New name"), validators=[DataRequired(), Length(max=200)])


class UnitRetireForm(BaseForm):
    pass


class TrainingForm(BaseForm):
    """An entry in the register of trained raters, for one user."""

    instrument = SelectField(_l("Instrument"), validators=[DataRequired()])
    trained_on = DateField(
        _l("Date of the training"),
        description=_l("The day the course ended."),
        validators=[InputRequired(message=_l("Give the date of the training."))],
    )
    course = StringField(
        _l("Course"),
        description=_l("The course's name and who gave it."),
        validators=[
            DataRequired(message=_l("Give the course's name.")),
            Length(max=COURSE_MAX),
        ],
    )
    # The page the form is on ("user": the administrator's user page, "staff": the staff's
    # trainings), so that the answer goes back there.
    back = HiddenField(default="user")

    def __init__(self, instruments: list[SelectChoice], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instrument.choices = instruments

    def validate_trained_on(self, field: Field) -> None:
        problem = training_date_problem(field.data, date.today()) if field.data else None
        if problem is not None:
            raise ValidationError(gettext(problem))


class TrainingRemoveForm(BaseForm):
    back = HiddenField(default="user")
