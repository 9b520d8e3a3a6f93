"""The law's exemption from gallring: people born on the 5th, 15th or 25th of a month, read
from the number itself, in both its forms (10 and 12 digits) and as a samordningsnummer (day
plus 60), leap days included."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum import luhn

from riskassess.cases.identity import birth_date_of, normalize_personnummer
from riskassess.cases.retention import research_exempt


def _number(born: date, *, coordination: bool = False, serial: str = "238") -> tuple[str, str]:
    """A valid fictional number for `born`, in its 12- and 10-digit written forms."""
    day = born.day + (60 if coordination else 0)
    body = f"{born:%y%m}{day:02d}{serial}"
    check = luhn.calc_check_digit(body)
    return f"{born:%Y%m}{day:02d}-{serial}{check}", f"{born:%y%m}{day:02d}-{serial}{check}"


def _exempt(written: str) -> bool:
    normalized, _born = normalize_personnummer(written)
    return research_exempt(normalized)


@pytest.mark.parametrize("coordination", [False, True])
@pytest.mark.parametrize("day", range(1, 32))
def test_only_days_5_15_and_25_are_exempt_in_both_forms(day: int, coordination: bool) -> None:
    born = date(2011, 1, day)  # January has 31 days: every day of the month
    long_form, short_form = _number(born, coordination=coordination)
    expected = day in (5, 15, 25)
    assert _exempt(long_form) is expected
    assert _exempt(short_form) is expected
    assert _exempt(long_form.replace("-", "")) is expected


@pytest.mark.parametrize("day", [5, 15, 25])
def test_a_samordningsnummer_counts_its_real_birth_day(day: int) -> None:
    long_form, _ = _number(date(2012, 6, day), coordination=True)
    normalized, born = normalize_personnummer(long_form)
    assert int(normalized[6:8]) == day + 60  # stored as written
    assert born == birth_date_of(normalized) == date(2012, 6, day)
    assert research_exempt(normalized)


@pytest.mark.parametrize("day", [65 - 60 + 1, 75 - 60 - 1, 85 - 60 + 2])
def test_a_samordningsnummer_day_is_not_read_as_written(day: int) -> None:
    # Day 66 is the 6th, not exempt; nor are the 14th (74) and the 27th (87).
    long_form, _ = _number(date(2012, 6, day), coordination=True)
    assert not _exempt(long_form)


@pytest.mark.parametrize("coordination", [False, True])
def test_a_leap_day_birth_is_a_date_and_not_exempt(coordination: bool) -> None:
    long_form, short_form = _number(date(2012, 2, 29), coordination=coordination)
    for written in (long_form, short_form):
        normalized, born = normalize_personnummer(written)
        assert born == birth_date_of(normalized) == date(2012, 2, 29)
        assert not research_exempt(normalized)


def test_a_birth_on_the_25th_of_february_in_a_leap_year_is_exempt() -> None:
    for coordination in (False, True):
        long_form, short_form = _number(date(2012, 2, 25), coordination=coordination)
        assert _exempt(long_form) and _exempt(short_form)


def test_the_century_of_a_short_form_with_plus_is_kept() -> None:
    # "+" marks someone aged 100 or more: the exemption does not depend on the century.
    born = date(1915, 3, 5)
    body = f"{born:%y%m%d}238"
    written = f"{born:%y%m%d}+238{luhn.calc_check_digit(body)}"
    normalized, found = normalize_personnummer(written)
    assert found == born and normalized.startswith("1915")
    assert research_exempt(normalized)
