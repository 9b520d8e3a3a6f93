"""The municipality's time zone: the days that periods, due dates and gallring count in.

Timestamps are stored in UTC; a day is always a day in Stockholm."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TIME = ZoneInfo("Europe/Stockholm")


def local_today() -> date:
    return datetime.now(LOCAL_TIME).date()


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TIME).date()
