"""Swedish personal identity numbers, checked and normalized with python-stdnum."""

from __future__ import annotations

from datetime import date

from stdnum.exceptions import ValidationError
from stdnum.se import personnummer


class InvalidPersonnummer(ValueError):
    pass


def normalize_personnummer(value: str) -> tuple[str, date]:
    """Return the 12-digit form (YYYYMMDDNNNN) and the birth date, or raise.

    Accepts 10 and 12 digits, with or without '-' (and '+' for people aged 100 or more).
    """
    raw = (value or "").strip()
    try:
        compact = personnummer.validate(raw)
        born = personnummer.get_birth_date(compact)
    except (ValidationError, ValueError):
        raise InvalidPersonnummer(raw) from None
    return f"{born:%Y%m%d}{compact[-4:]}", born


def format_personnummer(normalized: str) -> str:
    return f"{normalized[:8]}-{normalized[8:]}"
