"""The report's filter: a period and an instrument. A GET that changes nothing and names no
one, so it may travel in the URL and carries no CSRF token."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import InputRequired, ValidationError

from riskassess.forms import BaseForm
from riskassess.instruments.definition import Instrument

MAX_DAYS = 3 * 366  # three years at most: the log of who read what is kept five


class _ReportFields(BaseForm):
    date_from = DateField(_l("From (date)"), validators=[InputRequired()])
    date_to = DateField(_l("To (date)"), validators=[InputRequired()])
    instrument = SelectField(_l("Instrument"), validators=[InputRequired()])

    def __init__(self, instruments: list[Instrument], locale: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._instruments = {f"{i.id}@{i.version}": i for i in instruments}
        self.instrument.choices = [
            SelectChoice(key, f"{i.title.get(locale)} ({i.version})")
            for key, i in self._instruments.items()
        ]

    def chosen_instrument(self) -> Instrument | None:
        return self._instruments.get(self.instrument.data or "")

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
