from __future__ import annotations

from datetime import date

import pytest

from riskassess.cases.identity import (
    InvalidPersonnummer,
    format_personnummer,
    is_coordination_number,
    normalize_personnummer,
    sex_from_personnummer,
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


def _coordination(born: date, serial: str) -> str:
    """A fictional samordningsnummer: day of birth + 60, valid check digit."""
    from stdnum import luhn

    body = f"{born:%y%m}{born.day + 60:02d}{serial[:3]}"
    return f"{born:%Y%m}{born.day + 60:02d}-{serial[:3]}{luhn.calc_check_digit(body)}"


def test_coordination_number_keeps_its_digits_and_gives_the_real_birth_date() -> None:
    number = _coordination(date(2012, 1, 1), "9815")
    normalized, born = normalize_personnummer(number)
    assert born == date(2012, 1, 1)
    assert normalized == number.replace("-", "") and normalized[6:8] == "61"
    assert is_coordination_number(normalized)
    assert not is_coordination_number(normalize_personnummer("20120101-9815")[0])
    # the 10-digit form and the Swedish Tax Agency's own example
    assert normalize_personnummer(number[2:]) == (normalized, born)
    assert normalize_personnummer("701063-2391") == ("197010632391", date(1970, 10, 3))


@pytest.mark.parametrize(
    "raw",
    [
        "20120192-9815",  # day 92 - 60 = 32: no such date
        "20120160-9815",  # day 60 - 60 = 0
        "20120229-9815",  # 2012 had 29 February, but this check digit is wrong
        "20120161-9816",  # coordination number with a wrong check digit
        "20120101+9815x",
    ],
)
def test_invalid_coordination_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPersonnummer):
        normalize_personnummer(raw)


def test_twelve_digits_with_plus_keep_their_century() -> None:
    assert normalize_personnummer("19121212+1212") == ("191212121212", date(1912, 12, 12))


def test_sex_follows_the_second_to_last_digit_also_in_a_coordination_number() -> None:
    from stdnum.se import personnummer

    boy = normalize_personnummer("20120101-9815")[0]  # 1: odd
    girl = normalize_personnummer(fictional_personnummer(date(2012, 1, 1), "982"))[0]  # 2: even
    assert (sex_from_personnummer(boy), sex_from_personnummer(girl)) == ("male", "female")
    # the same answer as python-stdnum's, where it can answer
    assert personnummer.get_gender(boy) == "M" and personnummer.get_gender(girl) == "F"
    coordinated = normalize_personnummer(_coordination(date(2012, 1, 1), "9825"))[0]
    assert sex_from_personnummer(coordinated) == "female"
    assert normalize_personnummer("701063-2391")[0][-2] == "9"
    assert sex_from_personnummer("197010632391") == "male"  # the Tax Agency's example
