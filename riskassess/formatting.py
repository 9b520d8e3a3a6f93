"""How dates and times read on every page: one pattern per language, used through the `day`
and `moment` template filters (and in the few messages that name a date).

Swedish pages write dates as Swedish public administration does (2024-05-14); English pages
spell the month (14 May 2024), since 05/14 and 14/05 are both read somewhere. Times are
shown in the app's time zone (Europe/Stockholm), on the 24-hour clock in both languages.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from babel.dates import DateTimePattern, parse_pattern
from flask_babel import get_locale, to_user_timezone

PATTERNS = {
    "sv": {"day": "yyyy-MM-dd", "minute": "yyyy-MM-dd HH:mm", "second": "yyyy-MM-dd HH:mm:ss"},
    "en": {
        "day": "d MMM yyyy",
        "minute": "d MMM yyyy, HH:mm",
        "second": "d MMM yyyy, HH:mm:ss",
    },
}


@cache
def _compiled(pattern: str) -> DateTimePattern:
    # Parsed once: a list page formats some fifty dates, and parsing was most of the cost.
    return parse_pattern(pattern)


def _format(value: date | datetime, kind: str) -> str:
    locale = get_locale()
    patterns = PATTERNS.get(str(locale or "sv"), PATTERNS["sv"])
    if kind == "day" and patterns is PATTERNS["sv"]:
        # The Swedish day is ISO 8601, which a date writes itself (the same text as the
        # pattern, tested): a case list shows some fifty dates, and Babel took a tenth of it.
        return value.isoformat()
    pattern = patterns[kind]
    return str(_compiled(pattern).apply(value, locale))


def format_day(value: date | datetime | str | None) -> str:
    """A date (a datetime is first moved to local time), or an ISO date as stored in an
    assessment's content; an empty or unreadable value is shown as a dash."""
    day: date
    if isinstance(value, datetime):
        day = to_user_timezone(value).date()
    elif isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(value or "")
        except ValueError:
            return "–"
    return _format(day, "day")


def format_moment(value: datetime | None, seconds: bool = False) -> str:
    """A point in time, in local time, to the minute (to the second in the audit log)."""
    if value is None:
        return "–"
    return _format(to_user_timezone(value), "second" if seconds else "minute")
