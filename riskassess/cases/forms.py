from __future__ import annotations

from datetime import date
from typing import Any

from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import UUID, DataRequired, InputRequired, Length, ValidationError

from riskassess.cases.identity import (
    InvalidPersonnummer,
    normalize_personnummer,
    sex_from_personnummer,
)
from riskassess.forms import BaseForm
from riskassess.i18n import lazy_gettext as _l


def checked_personnummer(value: str) -> tuple[str, date]:
    """Normalize a personnummer for a form, or fail the field with a message the user can act on."""
    try:
        return normalize_personnummer(value)
    except InvalidPersonnummer:
        raise ValidationError(
            _l("Not a valid personal identity number (check the digits and the check digit).")
        ) from None


class CaseForm(BaseForm):
    """A new case: name and number. The birth date and sex are read from the personnummer or
    samordningsnummer (every number the form accepts carries both), so nobody types them and
    they cannot contradict the number."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    personnummer = StringField(
        _l("Personal identity number"),
        description=_l(
            "10 or 12 digits, e.g. YYYYMMDD-NNNN; a coordination number (samordningsnummer)"
            " works too. Date of birth and sex are taken from the number."
        ),
        validators=[DataRequired(), Length(max=20)],
    )

    is_protected = BooleanField(
        _l("Protected identity (skyddade personuppgifter)"),
        description=_l("Name and personal identity number are then hidden in every list."),
    )

    normalized_pnr: str | None = None
    birth_date: date | None = None
    sex: str | None = None

    def validate_personnummer(self, field: Any) -> None:
        self.normalized_pnr, born = checked_personnummer(field.data)
        if born > date.today():
            raise ValidationError(_l("The date of birth is in the future."))
        self.birth_date = born
        self.sex = sex_from_personnummer(self.normalized_pnr)


class TransferRequestForm(BaseForm):
    """Ask the unit that holds the child's case for it. The number comes back in the POST body
    from the "case exists" page, never in a URL."""

    personnummer = HiddenField(validators=[DataRequired(), Length(max=20)])

    normalized_pnr: str | None = None

    def validate_personnummer(self, field: Any) -> None:
        self.normalized_pnr, _born = checked_personnummer(field.data)


class MergeForm(BaseForm):
    merged = HiddenField(validators=[DataRequired(), UUID()])


class TransferDecisionForm(BaseForm):
    decision = SelectField(
        choices=[SelectChoice("accept", _l("Accept")), SelectChoice("decline", _l("Decline"))],
        validators=[DataRequired()],
    )


PURPOSE_LABELS = {
    "case_handling": _l("Handling of the case"),
    "supervision": _l("Supervision"),
    "urgent_protection": _l("Urgent protection of the child"),
    "other": _l("Other (describe)"),
}


def _purpose_choices() -> list[SelectChoice]:
    return [SelectChoice("", _l("Choose a reason"))] + [
        SelectChoice(code, label) for code, label in PURPOSE_LABELS.items()
    ]


class RevealForm(BaseForm):
    """The reason for viewing a protected identity, asked at every view."""

    purpose = SelectField(_l("Reason"), choices=_purpose_choices(), validators=[DataRequired()])
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=1000)])


class EmergencyForm(BaseForm):
    personnummer = StringField(
        _l("Personal identity number"), validators=[DataRequired(), Length(max=20)]
    )
    purpose = SelectField(_l("Reason"), choices=_purpose_choices(), validators=[DataRequired()])
    note = TextAreaField(
        _l("Why emergency access is needed"), validators=[DataRequired(), Length(max=1000)]
    )

    normalized_pnr: str | None = None

    def validate_personnummer(self, field: Any) -> None:
        self.normalized_pnr, _born = checked_personnummer(field.data)


class CloseForm(BaseForm):
    pass


class ProtectionForm(BaseForm):
    protect = SelectField(
        choices=[SelectChoice("1", _l("Protect")), SelectChoice("0", _l("Remove protection"))],
        validators=[DataRequired()],
    )


class AccessReviewForm(BaseForm):
    pass


class SearchForm(BaseForm):
    """Search by personnummer: sent by POST only, so the number never appears in a URL."""

    personnummer = StringField(
        _l("Personal identity number"),
        description=_l("10 or 12 digits; a coordination number (samordningsnummer) works too."),
        validators=[DataRequired(), Length(max=20)],
    )

    normalized_pnr: str | None = None

    def validate_personnummer(self, field: Any) -> None:
        self.normalized_pnr, _born = checked_personnummer(field.data)


HOLD_REASON_LABELS = {
    # Files of children born on day 5, 15 or 25 are kept by law without a hold (retention.py);
    # this reason is for other research decisions.
    "research": _l("Kept for research (another research decision)"),
    "legal": _l("Pending appeal, complaint, supervision or court matter"),
    "archive": _l("Decision of the archive authority"),
    "other": _l("Other (describe)"),
}


class RetentionHoldForm(BaseForm):
    reason = RadioField(
        _l("Reason for keeping the case"),
        choices=[SelectChoice(code, label) for code, label in HOLD_REASON_LABELS.items()],
        validators=[InputRequired()],
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=1000)])


class RetentionReleaseForm(BaseForm):
    pass


class AssignForm(BaseForm):
    """A supervisor gives the case to one of the unit's caseworkers."""

    caseworker = SelectField(
        _l("Responsible caseworker"), choices=[], validators=[DataRequired()], validate_choice=True
    )

    def __init__(self, staff: list[tuple[str, str]], **kwargs: Any) -> None:
        """`staff`: (user id, display name) of those the case may be given to."""
        super().__init__(**kwargs)
        self.caseworker.choices = [SelectChoice("", _l("Choose a caseworker"))] + [
            SelectChoice(user_id, name) for user_id, name in staff
        ]
