"""Gallring dates: five years (configurable) after the last entry, in Swedish local time,
completed by the end of the following calendar year."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from riskassess.cases.retention import RetentionDates, add_years, is_research_birth_day
from riskassess.config import ConfigError, load_settings


def test_due_five_years_after_and_deadline_end_of_next_year() -> None:
    dates = RetentionDates.after(datetime(2020, 3, 10, 9, 0, tzinfo=UTC), 5)
    assert dates == RetentionDates(date(2020, 3, 10), date(2025, 3, 10), date(2026, 12, 31))


def test_last_entry_is_the_swedish_calendar_day() -> None:
    # 23:30 UTC on New Year's Eve is already 1 January in Stockholm.
    dates = RetentionDates.after(datetime(2020, 12, 31, 23, 30, tzinfo=UTC), 5)
    assert dates.last_entry == date(2021, 1, 1) and dates.deadline == date(2027, 12, 31)


def test_leap_day_counts_from_the_first_of_march() -> None:
    assert add_years(date(2020, 2, 29), 5) == date(2025, 3, 1)
    assert add_years(date(2020, 2, 29), 4) == date(2024, 2, 29)


def test_research_birth_days() -> None:
    assert [d for d in range(1, 32) if is_research_birth_day(date(2012, 1, d))] == [5, 15, 25]


def test_retention_period_is_configurable_and_checked() -> None:
    assert load_settings({}).retention_years == 5
    assert load_settings({"RISKASSESS_RETENTION_YEARS": "7"}).retention_years == 7
    for bad in ("0", "-1", "five", "2.5", "101"):
        with pytest.raises(ConfigError, match="RISKASSESS_RETENTION_YEARS"):
            load_settings({"RISKASSESS_RETENTION_YEARS": bad})
