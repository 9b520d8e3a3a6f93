"""The demo's rule for invented personal identity numbers, shared by its seed and its
follow-up sample."""

from __future__ import annotations

from datetime import date

from stdnum import luhn


def fictional_personnummer(born: date, serial: str) -> str:
    """A valid-looking number with serial 98x or 99x, which the demo keeps for invented
    people; `serial` gives the first three digits, the check digit is computed."""
    body = f"{born:%y%m%d}{serial[:3]}"
    return f"{born:%Y%m%d}-{serial[:3]}{luhn.calc_check_digit(body)}"
