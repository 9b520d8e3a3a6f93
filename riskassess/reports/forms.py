"""The report's filter: a period, an instrument and, for a manager, the units to compare. A GET
that changes nothing and names no one, so it may travel in the URL and carries no CSRF token."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from wtforms import DateField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, ValidationError

from riskassess.accounts.models import Unit
from riskassess.forms import BaseForm
from riskassess.i18n import lazy_gettext as _l
from riskassess.instruments.definition import Instrument

MAX_DAYS = 3 * 366  # three years at most: the log of who read what is kept five


class _ReportFields(BaseForm):
    date_from = DateField(_l("From (date)"), validators=[InputRequired()])
    date_to = DateField(_l("To (date)"), validators=[InputRequired()])
    instrument = SelectField(_l("Instrument"), validators=[InputRequired()])
    units = SelectMultipleField(
        _l("Units"), description=_l("None chosen: every unit you may see."), validate_choice=True
    )

    def __init__(
        self, instruments: list[Instrument], locale: str, units: list[Unit], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.units.choices = [SelectChoice(str(unit.id), unit.name) for unit in units]
        self._unit_ids = {str(unit.id): unit.id for unit in units}
        self._instruments = {f"{i.id}@{i.version}": i for i in instruments}
        self.instrument.choices = [
            SelectChoice(key, f"{i.title.get(locale)} ({i.version})")
            for key, i in self._instruments.items()
        ]

    def chosen_instrument(self) -> Instrument | None:
        return self._instruments.get(self.instrument.data or "")

    def chosen_units(self) -> list[uuid.UUID]:
        """The units asked for (validated against the choices); empty: all."""
        return [self._unit_ids[key] for key in self.units.data or [] if key in self._unit_ids]

    def validate_date_to(self, field: Any) -> None:
        first: date | None = self.date_from.data
        last: date | None = field.data
        if first is None or last is None:
            return
        if last < first:
            raise ValidationError(_l("The period ends before it starts."))
        if (last - first).days > MAX_DAYS:
            raise ValidationError(_l("Choose a period of at most three years."))


class ReportFilterForm(_ReportFields):
    """The filter on the page: a GET that changes nothing, without a CSRF token."""

    class Meta:
        csrf = False


class ReportExportForm(_ReportFields):
    """The same filter, posted with a CSRF token: an export is logged, so it is an action
    another site must not trigger."""
