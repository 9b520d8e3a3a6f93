"""Property-based tests (hypothesis) of the validators every form relies on: personnummer in
any written form, choice fields, free text and dates. Each property states what must hold for
every input, typed or hostile; hypothesis looks for an input that breaks it."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
from flask import Flask
from flask_babel import Babel
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from werkzeug.datastructures import MultiDict
from wtforms import DateField, RadioField, StringField, TextAreaField

from riskassess.assessments.forms import MultiCheckboxField
from riskassess.cases.identity import InvalidPersonnummer, normalize_personnummer
from riskassess.forms import EARLIEST_DATE, LATEST_DATE, BaseForm, OptionalChoice

TODAY = date.today()
CHOICES = ("low", "moderate", "high")
PROPERTY = settings(deadline=None, max_examples=200)


def _personnummer(born: date, serial: int, coordination: bool) -> str:
    day = born.day + (60 if coordination else 0)
    body = f"{born:%y%m}{day:02d}{serial:03d}"
    return f"{born:%Y%m}{day:02d}{serial:03d}{luhn.calc_check_digit(body)}"


@PROPERTY
@given(
    born=st.dates(min_value=TODAY - timedelta(days=365 * 99), max_value=TODAY),
    serial=st.integers(min_value=0, max_value=999),
    coordination=st.booleans(),
)
def test_every_written_form_of_a_number_is_the_same_number(
    born: date, serial: int, coordination: bool
) -> None:
    number = _personnummer(born, serial, coordination)
    forms = [number, f"{number[:8]}-{number[8:]}", number[2:], f"{number[2:8]}-{number[8:]}"]
    results = {normalize_personnummer(f" {written} ") for written in forms}
    assert results == {(number, born)}


@PROPERTY
@given(st.text(max_size=30))
def test_any_text_is_a_valid_number_or_refused_with_the_one_error(text: str) -> None:
    try:
        normalized, born = normalize_personnummer(text)
    except InvalidPersonnummer:
        return
    assert len(normalized) == 12 and normalized.isdigit()
    assert luhn.is_valid(normalized[2:])
    # The stored digits say the birth date (the day + 60 for a coordination number).
    assert normalized[:6] == f"{born:%Y%m}"
    assert int(normalized[6:8]) in (born.day, born.day + 60)


class _Probe(BaseForm):
    class Meta:
        csrf = False

    rating = RadioField(choices=list(CHOICES), validators=[OptionalChoice()])
    sources = MultiCheckboxField(choices=list(CHOICES), validators=[OptionalChoice()])
    name = StringField()
    note = TextAreaField()
    day = DateField(validators=[])


@pytest.fixture(scope="module")
def flask_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "property-tests"
    Babel(app)  # the forms' messages are translated
    return app


def _validate(app: Flask, data: MultiDict[str, str]) -> _Probe:
    with app.test_request_context(method="POST"):
        form = _Probe(formdata=data)
        form.validate()
        return form


@PROPERTY
@given(values=st.lists(st.one_of(st.sampled_from(CHOICES), st.text(max_size=5)), max_size=3))
def test_a_choice_field_takes_exactly_one_listed_value_or_nothing(
    flask_app: Flask, values: list[str]
) -> None:
    form = _validate(flask_app, MultiDict([("rating", v) for v in values]))
    accepted = not form.rating.errors
    assert accepted == (values == [] or (len(values) == 1 and values[0] in CHOICES))


@PROPERTY
@given(values=st.lists(st.one_of(st.sampled_from(CHOICES), st.text(max_size=5)), max_size=4))
def test_a_multiple_choice_takes_listed_values_each_once(
    flask_app: Flask, values: list[str]
) -> None:
    form = _validate(flask_app, MultiDict([("sources", v) for v in values]))
    accepted = not form.sources.errors
    assert accepted == (all(v in CHOICES for v in values) and len(set(values)) == len(values))


def _controls(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text)


@PROPERTY
@given(text=st.text(max_size=40))
def test_no_control_character_gets_through_and_free_text_keeps_its_lines(
    flask_app: Flask, text: str
) -> None:
    form = _validate(flask_app, MultiDict([("name", text), ("note", text)]))
    assert bool(form.name.errors) == _controls(text)
    assert bool(form.note.errors) == _controls(text, "\t\n\r")
    # What the form shows again never carries a refused character back into the page.
    assert not _controls(form.name._value()) and not _controls(form.note._value(), "\t\n\r")


@PROPERTY
@given(day=st.dates())
def test_a_date_is_accepted_only_within_the_range(flask_app: Flask, day: date) -> None:
    form = _validate(flask_app, MultiDict([("day", day.isoformat())]))
    assert (not form.day.errors) == (EARLIEST_DATE <= day <= LATEST_DATE)
