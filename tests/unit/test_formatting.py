"""One date format per language, used by every template, and the due-date arithmetic."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from babel.dates import format_date
from flask import Flask
from flask_babel import Babel

from riskassess.assessments.followup import add_months, reassessment_due, work_state
from riskassess.config import PROJECT_ROOT, SHIPPED_INSTRUMENTS
from riskassess.formatting import format_day, format_moment
from riskassess.instruments.loader import parse_instrument


def _app(language: str) -> Flask:
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/Stockholm"
    Babel(app, locale_selector=lambda: language)
    return app


@pytest.mark.parametrize(
    "language, day, minute, second",
    [
        ("sv", "2024-05-04", "2024-05-04 13:05", "2024-05-04 13:05:09"),
        ("en", "4 May 2024", "4 May 2024, 13:05", "4 May 2024, 13:05:09"),
    ],
)
def test_one_format_per_language(language: str, day: str, minute: str, second: str) -> None:
    moment = datetime(2024, 5, 4, 11, 5, 9, tzinfo=UTC)  # 13:05:09 in Stockholm (summer)
    with _app(language).test_request_context():
        assert format_day(date(2024, 5, 4)) == day
        assert format_day("2024-05-04") == day  # as a plan stores it
        assert format_day(moment) == day
        assert format_moment(moment) == minute
        assert format_moment(moment, seconds=True) == second
        assert format_day(None) == format_day("") == format_day("not a date") == "–"
        assert format_moment(None) == "–"


@pytest.mark.parametrize("language", ["sv", "de"])  # de: a language without a pattern
def test_the_swedish_day_is_the_pattern_babel_would_apply(language: str) -> None:
    """Swedish days are written by the date itself (ISO 8601), not by Babel: the same text."""
    days = [date(1, 1, 1), date(999, 12, 31), date(2024, 2, 29), date(9999, 12, 31)]
    with _app(language).test_request_context():
        for day in days:
            assert format_day(day) == format_date(day, "yyyy-MM-dd", locale="sv")


def test_a_late_evening_is_the_local_day() -> None:
    with _app("sv").test_request_context():
        assert format_day(datetime(2024, 12, 31, 23, 30, tzinfo=UTC)) == "2025-01-01"


def test_templates_format_dates_only_through_the_filters() -> None:
    """Babel's own filters or isoformat() in a template would bring back a second format
    (isoformat() is fine inside url_for, where the date is a parameter, not text)."""
    offenders = []
    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            shown = re.sub(r"\{\{\s*url_for\(.*?\}\}", "", line)
            if re.search(r"\|\s*(dateformat|datetimeformat|timeformat)|\.isoformat\(", shown):
                offenders.append(f"{path.name}:{number}")
    assert offenders == []


@pytest.mark.parametrize(
    "start, months, expected",
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2024, 11, 15), 6, date(2025, 5, 15)),
        (date(2024, 5, 15), -6, date(2023, 11, 15)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 1, 1), 120, date(2034, 1, 1)),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_reassessment_due_counts_from_the_local_day_of_the_approval() -> None:
    savry = parse_instrument(SHIPPED_INSTRUMENTS / "savry-style-1.0.toml")
    assert reassessment_due(savry, datetime(2024, 1, 31, 12, tzinfo=UTC)) is None  # no interval
    six = replace(savry, reassessment_months=6)
    assert reassessment_due(six, None) is None  # not approved
    # 23:30 UTC on 31 August is 1 September in Stockholm.
    assert reassessment_due(six, datetime(2024, 8, 31, 23, 30, tzinfo=UTC)) == date(2025, 3, 1)
    assert reassessment_due(six, datetime(2024, 8, 31, 12, tzinfo=UTC)) == date(2025, 2, 28)


def test_a_returned_draft_is_still_returned_work() -> None:
    decided = datetime(2024, 5, 1, tzinfo=UTC)
    assert work_state("draft", decided) == "returned"
    assert work_state("draft", None) == "draft"
    assert work_state("approved", decided) == "approved"
    assert work_state("submitted", decided) == "submitted"
