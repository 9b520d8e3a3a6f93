"""Swedish personal identity numbers and coordination numbers, checked and normalized with
python-stdnum.

A samordningsnummer (coordination number, for people who are or were not registered as living
in Sweden) is built like a personnummer but with 60 added to the day of birth: 20120161-NNNN is
born on 1 January 2012. python-stdnum's `se.personnummer` refuses them (day 61 is no date), so
the day is lowered by 60 only to find the birth date and century; the check digit is computed
over the number as written, and the number is stored with its real digits (day + 60), because
that is the person's identifier.
"""

from __future__ import annotations

from datetime import date

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.se import personnummer

COORDINATION_DAY_OFFSET = 60


class InvalidPersonnummer(ValueError):
    pass


def normalize_personnummer(value: str) -> tuple[str, date]:
    """Return the 12-digit form (YYYYMMDDNNNN, day + 60 kept for a coordination number) and
    the real birth date, or raise InvalidPersonnummer.

    Accepts 10 and 12 digits, with or without '-' (and '+' for people aged 100 or more, which
    moves a 10-digit number's birth year back a century).
    """
    raw = (value or "").strip()
    try:
        compact = personnummer.compact(raw)  # "YYMMDD-NNNN" or "YYYYMMDD-NNNN", "+" kept
        if len(compact) not in (11, 13) or compact[-5] not in "-+":
            raise InvalidPersonnummer(raw)
        digits = compact[:-5] + compact[-4:]
        if not digits.isdigit():
            raise InvalidPersonnummer(raw)
        day = int(compact[-7:-5])
        dated = compact
        if day > COORDINATION_DAY_OFFSET:
            real_day = day - COORDINATION_DAY_OFFSET
            dated = f"{compact[:-7]}{real_day:02d}{compact[-5:]}"
        born = personnummer.get_birth_date(dated)  # refuses impossible dates
        luhn.validate(digits[-10:])  # over the digits as written, day + 60 included
    except (ValidationError, ValueError):
        raise InvalidPersonnummer(raw) from None
    return f"{born:%Y}{digits[-8:]}", born


def is_coordination_number(normalized: str) -> bool:
    return int(normalized[6:8]) > COORDINATION_DAY_OFFSET


def birth_date_of(normalized: str) -> date:
    """The birth date a normalized number carries: a samordningsnummer's day less 60."""
    day = int(normalized[6:8])
    if day > COORDINATION_DAY_OFFSET:
        day -= COORDINATION_DAY_OFFSET
    return date(int(normalized[:4]), int(normalized[4:6]), day)


def format_personnummer(normalized: str) -> str:
    return f"{normalized[:8]}-{normalized[8:]}"


def sex_from_personnummer(normalized: str) -> str:
    """The legal sex the number carries: the second-to-last digit is odd for a man ("male"),
    even for a woman ("female"). Holds for samordningsnummer too; python-stdnum's
    `get_gender` refuses those (day + 60), so the digit is read here."""
    return "male" if int(normalized[-2]) % 2 else "female"
