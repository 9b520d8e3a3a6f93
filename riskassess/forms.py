"""The one base form, and the rules every form's fields share.

Flask-WTF gives every form a CSRF token and translates WTForms' own messages into the request's
language through Flask-Babel (WTF_I18N_ENABLED). BaseForm adds what WTForms leaves open: a
choice field takes only its listed values, once each, a date lies in a sensible range, and no
field takes control characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as flask_wtf_translations
from wtforms import DateField, Field, FieldList, Form, FormField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectFieldBase
from wtforms.validators import StopValidation

from riskassess.formatting import format_day


class OptionalChoice:
    """A choice that may be left unanswered, and nothing else.

    WTForms' Optional() also stops at a blank or whitespace value and clears the field's
    errors, which let " " or "\\t" past the choice check into a stored record. Here only a field
    with no value posted at all is skipped; any posted value stays subject to the field's own
    check that it is one of the choices."""

    def __init__(self) -> None:
        self.field_flags = {"optional": True}

    def __call__(self, form: Any, field: Field) -> None:
        if not field.raw_data:
            field.errors[:] = []
            raise StopValidation()


def _fields(container: Iterable[Field]) -> Iterator[Field]:
    """Every field of a form, those inside field lists and sub-forms included."""
    for field in container:
        if isinstance(field, FieldList | FormField):
            yield from _fields(field)
        else:
            yield field


def _repeated_choice_error(field: Field) -> str | None:
    values = field.raw_data or []
    if isinstance(field, SelectMultipleField):
        if len(set(values)) != len(values):
            return str(gettext("Each value can be chosen only once."))
    elif len(values) > 1:
        return str(gettext("Choose one value only."))
    return None


# Free text keeps its line breaks and tabs; every other control character (NUL among them) is
# refused: it has no place in a record, breaks HTML and PostgreSQL text, and hides content.
FREE_TEXT_CONTROLS = frozenset("\t\n\r")


def without_control_characters(value: str, allowed: frozenset[str] = frozenset()) -> str:
    return "".join(ch for ch in value if ch in allowed or unicodedata.category(ch) != "Cc")


def _control_character_error(field: Field) -> str | None:
    """Refuse control characters. The form shown again holds the text without them, so that
    none is sent back into the page and the user can check the text and send it again."""
    allowed = FREE_TEXT_CONTROLS if isinstance(field, TextAreaField) else frozenset()
    raw = field.raw_data or []
    cleaned = [
        without_control_characters(value, allowed) if isinstance(value, str) else value
        for value in raw
    ]
    if cleaned == raw:
        return None
    field.raw_data = cleaned
    if isinstance(field.data, str):
        field.data = without_control_characters(field.data, allowed)
    return str(
        gettext(
            "The text held control characters (invisible characters such as NUL). They have "
            "been removed: check the text and send it again."
        )
    )


# Every date a form takes lies in this range: wide enough for any birth date, follow-up or log
# period, narrow enough that date arithmetic (a day's end, a period's length) cannot overflow.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def _date_range_error(field: Field) -> str | None:
    if not isinstance(field, DateField) or field.data is None:
        return None
    if EARLIEST_DATE <= field.data <= LATEST_DATE:
        return None
    return str(
        gettext(
            "Give a date from %(earliest)s to %(latest)s.",
            earliest=format_day(EARLIEST_DATE),
            latest=format_day(LATEST_DATE),
        )
    )


class BaseForm(FlaskForm):
    """Every form of the app derives from this, so none can forget its CSRF token or the
    checks below."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for field in _fields(self):
            message = _control_character_error(field) or _date_range_error(field)
            if message is None and isinstance(field, SelectFieldBase):
                message = _repeated_choice_error(field)
            if message is not None:
                field.errors.append(message)
                valid = False
        return valid


class RowForm(Form):
    """A row of a FieldList inside a BaseForm: no CSRF token of its own (the outer form
    carries it), but WTForms' own messages in the request's language, as in every form."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)  # type: ignore[misc]
            return flask_wtf_translations
