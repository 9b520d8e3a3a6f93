from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from riskassess.cases.identity import InvalidPersonnummer, normalize_personnummer
from riskassess.forms import BaseForm


class CaseForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    personnummer = StringField(
        _l("Personal identity number"),
        description=_l("12 digits, e.g. YYYYMMDD-NNNN"),
        validators=[DataRequired(), Length(max=20)],
    )
    birth_date = DateField(_l("Date of birth"), validators=[InputRequired()])
    sex = RadioField(
        _l("Sex"),
        choices=[SelectChoice("female", _l("Girl")), SelectChoice("male", _l("Boy"))],
        validators=[InputRequired()],
    )

    normalized_pnr: str | None = None

    def validate_personnummer(self, field: Any) -> None:
        try:
            self.normalized_pnr, self._pnr_birth = normalize_personnummer(field.data)
        except InvalidPersonnummer:
            raise ValidationError(
                _l("Not a valid personal identity number (check the digits and the check digit).")
            ) from None

    def validate_birth_date(self, field: Any) -> None:
        born: date | None = field.data
        if born is None:
            return
        if born > date.today():
            raise ValidationError(_l("The date of birth is in the future."))
        pnr_date = getattr(self, "_pnr_birth", None)
        if pnr_date is not None and pnr_date != born:
            raise ValidationError(
                _l("The date of birth does not match the personal identity number.")
            )
