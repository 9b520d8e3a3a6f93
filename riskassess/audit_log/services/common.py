"""What the audit log's readers share: limits, filters, rows and pages, the queries behind
them, and the second lock on every reader."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.core import audit
from riskassess.core.audit import AuditCaseRef, AuditEntry
from riskassess.errors import N_, AccessDenied, DomainError

PAGE_SIZE = 50
CASE_LOG_PAGE_SIZE = 100
SAMPLE_MAX = 100  # entries in one sample check
UNUSUAL_LIST_LIMIT = 200  # rows shown per kind of unusual access
UNUSUAL_SCAN_LIMIT = 200_000  # access entries examined for the other-unit rule per report

# Reads of case data: the population a sample check is drawn from.
ACCESS_ACTIONS = (
    "case:case:read",
    "case:case:list",
    "case:case:search",
    "case:case:emergency",
    "case:identity:reveal",
    "case:assessment:read",
    "case:assessment:print",
)
# Entries that showed several cases name them in their details ("cases": [ids]).
LIST_ACTIONS = ("case:case:list", "case:case:search")
# Opening one case: what the "many cases in a short time" rule counts.
CASE_OPEN_ACTIONS = ("case:case:read",)
# One user opening at least BURST_CASES different cases within BURST_WINDOW is unusual.
BURST_CASES = 10
BURST_WINDOW = timedelta(minutes=15)
# Break-the-glass access to a case is always highlighted.
EMERGENCY_ACTIONS = ("case:case:emergency",)
# Objects whose entries concern case data, and so have a case and its unit.
_CASE_OBJECTS = ("case", "assessment")


class Flag(StrEnum):
    REFUSED = "refused"  # access denied or login failed
    OTHER_UNIT = "other_unit"  # case data of a unit other than the actor's own
    BURST = "burst"  # part of many cases opened in a short time
    EMERGENCY = "emergency"  # break-the-glass access


class TooManyEntries(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            N_("More than %(limit)s entries match. Narrow the filter and export again.")
        )
        self.limit = limit


@dataclass(frozen=True)
class LogFilter:
    """What the auditor asked for. `start` is inclusive, `end` exclusive (UTC)."""

    user_id: uuid.UUID | None = None
    case: Case | None = None
    action: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def describe(self) -> dict[str, str]:
        """The filter as it goes into the audit entry of the read: ids and times only."""
        described = {
            "user": None if self.user_id is None else str(self.user_id),
            "case": None if self.case is None else str(self.case.id),
            "action": self.action,
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
        }
        return {k: v for k, v in described.items() if v is not None}


@dataclass(frozen=True)
class LogRow:
    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    username: str  # as logged at the time
    display_name: str | None  # the account's name today, if it still exists
    role: str
    unit_name: str | None
    action: str
    object_type: str | None
    object_id: str | None
    case_reference: str | None
    cases_shown: int | None  # for a case list: how many cases it showed
    outcome: str
    hash: str
    flags: frozenset[Flag] = frozenset()


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class AccessSummary:
    """One person's dealings with one case, for the loggutdrag."""

    actor_id: uuid.UUID | None
    display_name: str | None
    entries: int
    refused: int
    first_dt: datetime
    last_dt: datetime


@dataclass(frozen=True)
class CaseAccessLog:
    case: Case
    summary: list[AccessSummary]
    page: LogPage


@dataclass(frozen=True)
class Burst:
    actor_id: uuid.UUID | None
    start_dt: datetime
    end_dt: datetime
    cases: int
    seqs: frozenset[int]
    display_name: str | None = None


@dataclass(frozen=True)
class UnusualReport:
    start: datetime
    end: datetime
    refusals: list[LogRow]
    refusal_total: int
    bursts: list[Burst]
    other_unit: list[LogRow]
    emergency: list[LogRow]
    scan_truncated: bool


def _deny(session: Session, user: User, action: str, object_type: str, object_id: object) -> None:
    audit.append_denial(session, user.as_actor(), action, object_type, object_id)


def _require(session: Session, user: User, allowed: bool, action: str) -> None:
    """Fail closed: the view's decorator checked the role already; this is the second lock."""
    if not allowed:
        _deny(session, user, action, "audit_log", None)
        raise AccessDenied(N_("You do not have access to the audit log."))


def _case_clause(session: Session, case: Case) -> Any:
    """Entries about one case: the case itself, its assessments, and the case lists and
    searches that showed it (such an entry names every case it showed, in its details)."""
    case_id = str(case.id)
    assessment_ids = [
        str(a) for a in session.scalars(select(Assessment.id).where(Assessment.case_id == case.id))
    ]
    return or_(
        and_(AuditEntry.object_type == "case", AuditEntry.object_id == case_id),
        and_(AuditEntry.object_type == "assessment", AuditEntry.object_id.in_(assessment_ids)),
        AuditEntry.seq.in_(select(AuditCaseRef.seq).where(AuditCaseRef.case_id == case_id)),
    )


def _filtered(session: Session, flt: LogFilter) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if flt.user_id is not None:
        query = query.where(AuditEntry.actor_id == flt.user_id)
    if flt.case is not None:
        query = query.where(_case_clause(session, flt.case))
    if flt.action:
        query = query.where(AuditEntry.action == flt.action)
    if flt.start is not None:
        query = query.where(AuditEntry.created_dt >= flt.start)
    if flt.end is not None:
        query = query.where(AuditEntry.created_dt < flt.end)
    return query


def _count(session: Session, query: Select[AuditEntry]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def find_case(session: Session, reference: str) -> Case | None:
    return session.scalar(select(Case).where(Case.reference == reference.strip().upper()))
