"""How dates and times read on every page: one pattern per language, used through the `day`
and `moment` template filters (and in the few messages that name a date).

Swedish pages write dates as Swedish public administration does (2024-05-14); English pages
spell the month (14 May 2024), since 05/14 and 14/05 are both read somewhere. Times are
shown in the app's time zone (Europe/Stockholm), on the 24-hour clock in both languages.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import format_date, format_datetime, get_locale

PATTERNS = {
    "sv": {"day": "yyyy-MM-dd", "minute": "yyyy-MM-dd HH:mm", "second": "yyyy-MM-dd HH:mm:ss"},
    "en": {
        "day": "d MMM yyyy",
        "minute": "d MMM yyyy, HH:mm",
        "second": "d MMM yyyy, HH:mm:ss",
    },
}


def _patterns() -> dict[str, str]:
    language = str(get_locale() or "sv")
    return PATTERNS.get(language, PATTERNS["sv"])


def format_day(value: date | datetime | str | None) -> str:
    """A date (a datetime is first moved to local time), or an ISO date as stored in an
    assessment's content; an empty or unreadable value is shown as a dash."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return "–"
    if value is None:
        return "–"
    return str(format_date(value, _patterns()["day"]))


def format_moment(value: datetime | None, seconds: bool = False) -> str:
    """A point in time, in local time, to the minute (to the second in the audit log)."""
    if value is None:
        return "–"
    return str(format_datetime(value, _patterns()["second" if seconds else "minute"]))
