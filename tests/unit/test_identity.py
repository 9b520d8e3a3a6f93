from __future__ import annotations

from datetime import date

import pytest

from riskassess.cases.identity import (
    InvalidPersonnummer,
    format_personnummer,
    normalize_personnummer,
)
from riskassess.training.seed import fictional_personnummer


@pytest.mark.parametrize(
    "raw",
    ["20120101-9815", "201201019815", "120101-9815", "1201019815", " 20120101-9815 "],
)
def test_forms_normalize_to_twelve_digits(raw: str) -> None:
    assert normalize_personnummer(raw) == ("201201019815", date(2012, 1, 1))


def test_plus_separator_means_a_hundred_years_or_more() -> None:
    normalized, born = normalize_personnummer("121212+1212")
    assert born.year == 1912 and normalized == "191212121212"


@pytest.mark.parametrize("raw", ["", "abc", "20120101-9817", "20121301-9815", "2012010198"])
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPersonnummer):
        normalize_personnummer(raw)


def test_fictional_numbers_are_valid_test_serials() -> None:
    number = fictional_personnummer(date(2011, 3, 14), "9823")
    normalized, born = normalize_personnummer(number)
    assert born == date(2011, 3, 14)
    assert normalized[8:10] == "98"
    assert format_personnummer(normalized) == number
