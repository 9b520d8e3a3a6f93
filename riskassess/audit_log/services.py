"""Use cases for people reading the audit log: the auditor's filtered view and its CSV export,
a case's access log (loggutdrag), unusual access, and sample checks (loggkontroll).

Reading the log is itself logged: every function that shows entries appends its own entry in
the same transaction, after the query, so the reader does not see their own read. Functions take
the session and the acting user, flush, and never commit. Entries show ids and tags only; names
come from the staff tables when a page is rendered, never from a child's case.
"""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from random import Random
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit, User
from riskassess.assessments.models import Assessment
from riskassess.audit_log import policy
from riskassess.audit_log.models import AuditSample, AuditSampleItem, CheckOutcome
from riskassess.cases.models import Case
from riskassess.core import audit
from riskassess.core.audit import AuditCaseRef, AuditEntry, entry_fields
from riskassess.core.db import utcnow
from riskassess.core.keys import Vault
from riskassess.errors import N_, AccessDenied, DomainError

PAGE_SIZE = 50
CASE_LOG_PAGE_SIZE = 100
EXPORT_LIMIT = 50_000  # rows in one CSV file; narrow the filter for more
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


@dataclass(frozen=True)
class SampleSummary:
    sample: AuditSample
    author_name: str | None
    items: int
    checked: int
    follow_up: int


@dataclass(frozen=True)
class SampleItemView:
    item: AuditSampleItem
    row: LogRow | None  # None once log retention has removed the entry, or it has changed
    comment: str | None
    checked_by_name: str | None
    changed: bool = False  # the entry is there but no longer has the hash it was drawn with


@dataclass(frozen=True)
class SampleView:
    sample: AuditSample
    author_name: str | None
    items: list[SampleItemView] = field(default_factory=list)


def _deny(session: Session, user: User, action: str, object_type: str, object_id: object) -> None:
    audit.append_denial(session, user.as_actor(), action, object_type, object_id)


def _require(session: Session, user: User, allowed: bool, action: str) -> None:
    """Fail closed: the view's decorator checked the role already; this is the second lock."""
    if not allowed:
        _deny(session, user, action, "audit_log", None)
        raise AccessDenied(N_("You do not have access to the audit log."))


# --- queries ---------------------------------------------------------------------------------


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


def _page(session: Session, query: Select[AuditEntry], page: int, size: int) -> LogPage:
    total = _count(session, query)
    pages = max(1, -(-total // size))
    entries = session.scalars(
        query.order_by(AuditEntry.seq.desc()).offset((page - 1) * size).limit(size)
    ).all()
    return LogPage(rows_for(session, entries), page, pages, total)


def find_case(session: Session, reference: str) -> Case | None:
    return session.scalar(select(Case).where(Case.reference == reference.strip().upper()))


# --- rows for people -------------------------------------------------------------------------


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


_IN_CHUNK = 5000  # SQLite takes at most 32,766 bound values in one statement


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def rows_for(session: Session, entries: Sequence[AuditEntry]) -> list[LogRow]:
    """Entries as people read them: names of staff and units, case numbers, highlights."""
    parsed = [(entry, entry_fields(entry.body)) for entry in entries]
    user_ids = {e.actor_id for e in entries if e.actor_id is not None}
    unit_ids = {u for _e, f in parsed if (u := _uuid(f.get("unit"))) is not None}
    users = {
        u.id: u
        for chunk in _chunks(user_ids)
        for u in session.scalars(select(User).where(User.id.in_(chunk)))
    }
    units = {
        u.id: u
        for chunk in _chunks(unit_ids)
        for u in session.scalars(select(Unit).where(Unit.id.in_(chunk)))
    }
    case_of = _cases_of(session, ((e.object_type, e.object_id) for e in entries))
    bursts = _burst_seqs(session, entries)
    rows = []
    for entry, fields in parsed:
        unit_id = _uuid(fields.get("unit"))
        unit = units.get(unit_id) if unit_id is not None else None
        account = users.get(entry.actor_id) if entry.actor_id is not None else None
        found = case_of.get((entry.object_type or "", entry.object_id or ""))
        details = fields.get("details") or {}
        shown = details.get("cases") if entry.action in LIST_ACTIONS else None
        flags = set()
        if entry.outcome != audit.Outcome.SUCCESS:
            flags.add(Flag.REFUSED)
        if entry.action in EMERGENCY_ACTIONS:
            flags.add(Flag.EMERGENCY)
        if entry.seq in bursts:
            flags.add(Flag.BURST)
        if (
            found is not None
            and entry.outcome == audit.Outcome.SUCCESS
            and unit_id != found.unit_id
        ):
            flags.add(Flag.OTHER_UNIT)
        rows.append(
            LogRow(
                seq=entry.seq,
                at=entry.created_dt,
                actor_id=entry.actor_id,
                username=str(fields.get("actor_name") or ""),
                display_name=None if account is None else account.display_name,
                role=str(fields.get("role") or ""),
                unit_name=None if unit is None else unit.name,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                case_reference=None if found is None else found.reference,
                cases_shown=len(shown) if isinstance(shown, list) else None,
                outcome=entry.outcome,
                hash=entry.hash,
                flags=frozenset(flags),
            )
        )
    return rows


def _cases_of(
    session: Session, objects: Iterable[tuple[str | None, str | None]]
) -> dict[tuple[str, str], Case]:
    """(object type, object id) -> the case an entry concerns, for case and assessment objects."""
    case_ids: dict[uuid.UUID, str] = {}
    assessment_ids: dict[uuid.UUID, str] = {}
    for object_type, object_id in objects:
        ident = _uuid(object_id) if object_type in _CASE_OBJECTS else None
        if ident is None:
            continue
        (case_ids if object_type == "case" else assessment_ids)[ident] = str(object_id)
    found: dict[tuple[str, str], Case] = {}
    for chunk in _chunks(case_ids):
        for case_row in session.scalars(select(Case).where(Case.id.in_(chunk))):
            found[("case", case_ids[case_row.id])] = case_row
    for chunk in _chunks(assessment_ids):
        pairs = session.execute(
            select(Assessment.id, Case)
            .join(Case, Case.id == Assessment.case_id)
            .where(Assessment.id.in_(chunk))
        ).all()
        for assessment_id, case_row in pairs:
            found[("assessment", assessment_ids[assessment_id])] = case_row
    return found


def find_bursts(
    openings: Iterable[tuple[uuid.UUID | None, datetime, int, str]],
    *,
    cases: int = BURST_CASES,
    window: timedelta = BURST_WINDOW,
) -> list[Burst]:
    """Episodes in which one user opened at least `cases` different cases within `window`.

    `openings` are (actor, time, seq, case id). Overlapping windows of one user merge into one
    episode. Pure, so the rule is unit-tested without a database.
    """
    by_actor: dict[uuid.UUID | None, list[tuple[datetime, int, str]]] = {}
    for actor, at, seq, case_id in openings:
        by_actor.setdefault(actor, []).append((at, seq, case_id))
    found: list[Burst] = []
    for actor, points in by_actor.items():
        points.sort()
        counts: Counter[str] = Counter()
        left = 0
        episode: list[int] = []  # indexes into points
        for right, (at, _seq, case_id) in enumerate(points):
            counts[case_id] += 1
            while at - points[left][0] > window:
                gone = points[left][2]
                counts[gone] -= 1
                if not counts[gone]:
                    del counts[gone]
                left += 1
            if len(counts) < cases:
                continue
            if episode and left <= episode[-1]:
                episode.extend(range(episode[-1] + 1, right + 1))
            else:
                if episode:
                    found.append(_burst(actor, points, episode))
                episode = list(range(left, right + 1))
        if episode:
            found.append(_burst(actor, points, episode))
    return sorted(found, key=lambda b: b.start_dt)


def _burst(
    actor: uuid.UUID | None, points: list[tuple[datetime, int, str]], indexes: list[int]
) -> Burst:
    chosen = [points[i] for i in indexes]
    return Burst(
        actor_id=actor,
        start_dt=chosen[0][0],
        end_dt=chosen[-1][0],
        cases=len({p[2] for p in chosen}),
        seqs=frozenset(p[1] for p in chosen),
    )


def _openings(
    session: Session, start: datetime, end: datetime, actors: Iterable[uuid.UUID] | None = None
) -> list[tuple[uuid.UUID | None, datetime, int, str]]:
    query = select(
        AuditEntry.actor_id, AuditEntry.created_dt, AuditEntry.seq, AuditEntry.object_id
    ).where(
        AuditEntry.action.in_(CASE_OPEN_ACTIONS),
        AuditEntry.outcome == audit.Outcome.SUCCESS,
        AuditEntry.created_dt >= start,
        AuditEntry.created_dt < end,
    )
    if actors is not None:
        query = query.where(AuditEntry.actor_id.in_(list(actors)))
    return [(a, at, seq, oid or "") for a, at, seq, oid in session.execute(query)]


def _burst_seqs(session: Session, entries: Sequence[AuditEntry]) -> set[int]:
    """Which of these entries belong to a burst (looking a window beyond them each way)."""
    opened = [e for e in entries if e.action in CASE_OPEN_ACTIONS and e.actor_id is not None]
    if not opened:
        return set()
    start = min(e.created_dt for e in opened) - BURST_WINDOW
    end = max(e.created_dt for e in opened) + BURST_WINDOW + timedelta(microseconds=1)
    actors = {e.actor_id for e in opened if e.actor_id is not None}
    seqs: set[int] = set()
    for burst in find_bursts(_openings(session, start, end, actors)):
        seqs |= burst.seqs
    return seqs


def _names(session: Session, user_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return {}
    return {
        u.id: u.display_name
        for chunk in _chunks(wanted)
        for u in session.scalars(select(User).where(User.id.in_(chunk)))
    }


# --- the auditor's view ----------------------------------------------------------------------


def search_log(session: Session, user: User, flt: LogFilter, page: int = 1) -> LogPage:
    """One page of entries matching the filter, newest first. The read is logged."""
    _require(session, user, policy.can_read_log(user), "audit:log:read")
    result = _page(session, _filtered(session, flt), page, PAGE_SIZE)
    audit.append(
        session,
        user.as_actor(),
        "audit:log:read",
        object_type="audit_log",
        details={"filter": flt.describe(), "page": page, "shown": len(result.rows)},
    )
    return result


def export_log(session: Session, user: User, flt: LogFilter) -> list[LogRow]:
    """Every entry matching the filter (oldest first), for a CSV file. The export is logged."""
    _require(session, user, policy.can_export_log(user), "audit:log:export")
    query = _filtered(session, flt)
    total = _count(session, query)
    if total > EXPORT_LIMIT:
        raise TooManyEntries(EXPORT_LIMIT)
    rows = rows_for(session, session.scalars(query.order_by(AuditEntry.seq)).all())
    audit.append(
        session,
        user.as_actor(),
        "audit:log:export",
        object_type="audit_log",
        details={"filter": flt.describe(), "rows": len(rows)},
    )
    return rows


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def log_csv(rows: Sequence[LogRow], header: Sequence[str], action_label: Any) -> str:
    """The rows as CSV for Swedish spreadsheets: semicolons, UTF-8 with a byte-order mark."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row.seq,
                    row.at.isoformat(timespec="seconds"),
                    row.username,
                    row.display_name,
                    row.role,
                    row.unit_name,
                    row.action,
                    action_label(row.action),
                    row.object_type,
                    row.object_id,
                    row.case_reference,
                    row.outcome,
                    " ".join(sorted(row.flags)),
                    row.hash,
                )
            ]
        )
    return out.getvalue()


# --- one case's access log (loggutdrag) ------------------------------------------------------


def case_access_log(session: Session, user: User, case: Case, page: int = 1) -> CaseAccessLog:
    """Who has read or changed this case, and when; refusals included. The read is logged."""
    if not policy.can_read_case_access_log(user, case):
        _deny(session, user, "audit:case_log:read", "case", case.id)
        raise AccessDenied(N_("You do not have access to this case's access log."))
    clause = _case_clause(session, case)
    refused = func.sum(sql_case((AuditEntry.outcome == audit.Outcome.SUCCESS, 0), else_=1))
    grouped = session.execute(
        select(
            AuditEntry.actor_id,
            func.count(),
            refused,
            func.min(AuditEntry.created_dt),
            func.max(AuditEntry.created_dt),
        )
        .where(clause)
        .group_by(AuditEntry.actor_id)
    ).all()
    names = _names(session, (g[0] for g in grouped))
    summary = sorted(
        (
            AccessSummary(
                actor,
                None if actor is None else names.get(actor),
                count,
                int(refusals or 0),
                first,
                last,
            )
            for actor, count, refusals, first, last in grouped
        ),
        key=lambda s: s.last_dt,
        reverse=True,
    )
    result = _page(session, select(AuditEntry).where(clause), page, CASE_LOG_PAGE_SIZE)
    audit.append(
        session,
        user.as_actor(),
        "audit:case_log:read",
        object_type="case",
        object_id=case.id,
        details={"page": page},
    )
    return CaseAccessLog(case, summary, result)


# --- unusual access --------------------------------------------------------------------------


def unusual_access(session: Session, user: User, start: datetime, end: datetime) -> UnusualReport:
    """Refusals, bursts of opened cases, case data of another unit and emergency access in a
    period. The read is logged."""
    _require(session, user, policy.can_read_log(user), "audit:log:read")
    in_period = and_(AuditEntry.created_dt >= start, AuditEntry.created_dt < end)
    refused_query = select(AuditEntry).where(in_period, AuditEntry.outcome != audit.Outcome.SUCCESS)
    refusal_total = _count(session, refused_query)
    refusals = session.scalars(
        refused_query.order_by(AuditEntry.seq.desc()).limit(UNUSUAL_LIST_LIMIT)
    ).all()
    emergency = session.scalars(
        select(AuditEntry)
        .where(in_period, AuditEntry.action.in_(EMERGENCY_ACTIONS))
        .order_by(AuditEntry.seq.desc())
        .limit(UNUSUAL_LIST_LIMIT)
    ).all()
    bursts = find_bursts(_openings(session, start, end))
    names = _names(session, (b.actor_id for b in bursts))
    bursts = [
        replace(b, display_name=None if b.actor_id is None else names.get(b.actor_id))
        for b in bursts
    ]
    scanned = session.execute(
        select(AuditEntry.seq, AuditEntry.object_type, AuditEntry.object_id, AuditEntry.body)
        .where(
            in_period,
            AuditEntry.outcome == audit.Outcome.SUCCESS,
            AuditEntry.object_type.in_(_CASE_OBJECTS),
        )
        .order_by(AuditEntry.seq.desc())
        .limit(UNUSUAL_SCAN_LIMIT + 1)
    ).all()
    truncated = len(scanned) > UNUSUAL_SCAN_LIMIT
    scanned = scanned[:UNUSUAL_SCAN_LIMIT]
    case_of = _cases_of(session, ((r.object_type, r.object_id) for r in scanned))
    elsewhere = []
    for row in scanned:
        found = case_of.get((row.object_type or "", row.object_id or ""))
        if found is not None and _uuid(entry_fields(row.body).get("unit")) != found.unit_id:
            elsewhere.append(row.seq)
            if len(elsewhere) == UNUSUAL_LIST_LIMIT:
                break
    other_unit = rows_for(session, audit.iter_entries(session, elsewhere)[::-1])
    audit.append(
        session,
        user.as_actor(),
        "audit:log:read",
        object_type="audit_log",
        details={
            "view": "unusual",
            "from": start.isoformat(),
            "to": end.isoformat(),
        },
    )
    return UnusualReport(
        start=start,
        end=end,
        refusals=rows_for(session, refusals),
        refusal_total=refusal_total,
        bursts=bursts,
        other_unit=other_unit,
        emergency=rows_for(session, emergency),
        scan_truncated=truncated,
    )


# --- sample checks (loggkontroll) ------------------------------------------------------------


def list_samples(session: Session) -> list[SampleSummary]:
    """Every sample check, newest first, with how far its review has come. Shows no entries."""
    checked = func.count(AuditSampleItem.check_outcome)
    follow_up = func.sum(
        sql_case((AuditSampleItem.check_outcome == CheckOutcome.FOLLOW_UP, 1), else_=0)
    )
    rows = session.execute(
        select(AuditSample, func.count(AuditSampleItem.id), checked, follow_up)
        .join(AuditSampleItem, AuditSampleItem.sample_id == AuditSample.id)
        .group_by(AuditSample.id)
        .order_by(AuditSample.created_dt.desc())
    ).all()
    names = _names(session, (r[0].created_by_id for r in rows))
    return [
        SampleSummary(sample, names.get(sample.created_by_id), total, done, int(follow or 0))
        for sample, total, done, follow in rows
    ]


def draw_sample(
    session: Session,
    vault: Vault,
    user: User,
    start: datetime,
    end: datetime,
    size: int,
    rng: Random | None = None,
) -> AuditSample:
    """Draw `size` access entries of the period at random (without replacement) and keep them
    as a sample check to review. The draw uses the operating system's random source, so nobody
    can predict which accesses will be checked."""
    _require(session, user, policy.can_review_samples(user), "audit:sample:create")
    if not 1 <= size <= SAMPLE_MAX:
        raise DomainError(N_("A sample holds between 1 and 100 entries."))
    if end <= start:
        raise DomainError(N_("The end date is before the start date."))
    population = session.scalars(
        select(AuditEntry.seq)
        .where(
            AuditEntry.action.in_(ACCESS_ACTIONS),
            AuditEntry.outcome == audit.Outcome.SUCCESS,
            AuditEntry.created_dt >= start,
            AuditEntry.created_dt < end,
        )
        .order_by(AuditEntry.seq)
    ).all()
    if not population:
        raise DomainError(N_("There are no access entries in this period to sample."))
    chosen = sorted(
        (rng or secrets.SystemRandom()).sample(list(population), min(size, len(population)))
    )
    key = vault.create_data_key(session)
    sample = AuditSample(
        created_dt=utcnow(),
        created_by_id=user.id,
        period_start_dt=start,
        period_end_dt=end,
        population_count=len(population),
        data_key_id=key.id,
    )
    session.add(sample)
    session.flush()
    for position, entry in enumerate(audit.iter_entries(session, chosen), start=1):
        session.add(
            AuditSampleItem(
                sample_id=sample.id,
                position=position,
                entry_seq=entry.seq,
                entry_hash=entry.hash,
                entry_dt=entry.created_dt,
                actor_id=entry.actor_id,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
            )
        )
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "audit:sample:create",
        object_type="audit_sample",
        object_id=sample.id,
        details={
            "from": start.isoformat(),
            "to": end.isoformat(),
            "population": len(population),
            "size": len(chosen),
        },
    )
    return sample


def read_sample(session: Session, vault: Vault, user: User, sample: AuditSample) -> SampleView:
    """A sample check with its entries and the findings so far. The read is logged."""
    _require(session, user, policy.can_review_samples(user), "audit:sample:read")
    items = list(sample.items)
    present = {e.seq: e for e in audit.iter_entries(session, (i.entry_seq for i in items))}
    # An entry is shown only if it is still the one that was drawn (same hash).
    intact = [
        present[i.entry_seq]
        for i in items
        if i.entry_seq in present and present[i.entry_seq].hash == i.entry_hash
    ]
    rows = {r.seq: r for r in rows_for(session, intact)}
    names = _names(session, [sample.created_by_id, *(i.checked_by_id for i in items)])
    views = []
    for item in items:
        comment = None
        if item.comment is not None:
            comment = str(
                vault.open_json(
                    session,
                    sample.data_key_id,
                    item.comment,
                    "audit_sample_item",
                    "comment",
                    item.id,
                )
            )
        views.append(
            SampleItemView(
                item,
                rows.get(item.entry_seq),
                comment,
                None if item.checked_by_id is None else names.get(item.checked_by_id),
                changed=item.entry_seq in present and item.entry_seq not in rows,
            )
        )
    audit.append(
        session,
        user.as_actor(),
        "audit:sample:read",
        object_type="audit_sample",
        object_id=sample.id,
    )
    return SampleView(sample, names.get(sample.created_by_id), views)


def record_check(
    session: Session,
    vault: Vault,
    user: User,
    sample: AuditSample,
    item: AuditSampleItem,
    outcome: str,
    comment: str,
) -> None:
    """Record the auditor's finding for one sampled entry. A finding is recorded once and then
    stands; the comment is sealed (it is free text) and never goes into the audit entry."""
    _require(session, user, policy.can_review_samples(user), "audit:sample:review")
    if item.sample_id != sample.id:
        raise DomainError(N_("This entry does not belong to this sample."))
    if item.check_outcome is not None:
        raise DomainError(N_("This entry has already been checked; the finding stands."))
    if outcome not in (CheckOutcome.OK, CheckOutcome.FOLLOW_UP):
        raise DomainError(N_("Choose whether the access was justified or needs follow-up."))
    comment = comment.strip()
    if outcome == CheckOutcome.FOLLOW_UP and not comment:
        raise DomainError(N_("Describe what needs to be followed up."))
    item.check_outcome = outcome
    item.comment = (
        vault.seal_json(
            session, sample.data_key_id, comment, "audit_sample_item", "comment", item.id
        )
        if comment
        else None
    )
    item.checked_by_id = user.id
    item.checked_dt = utcnow()
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "audit:sample:review",
        object_type="audit_sample",
        object_id=sample.id,
        details={"item": str(item.id), "entry": item.entry_seq, "outcome": outcome},
    )
