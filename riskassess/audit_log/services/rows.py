"""Entries as people read them: who, which unit and case, and the flags for unusual access
(other units, emergency access, bursts of openings)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit, User
from riskassess.assessments.models import Assessment
from riskassess.audit_log.services.common import (
    _CASE_OBJECTS,
    BURST_CASES,
    BURST_WINDOW,
    CASE_OPEN_ACTIONS,
    EMERGENCY_ACTIONS,
    LIST_ACTIONS,
    Burst,
    Flag,
    LogPage,
    LogRow,
    _count,
)
from riskassess.cases.models import Case
from riskassess.core import audit
from riskassess.core.audit import AuditEntry, entry_fields


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


def _page(session: Session, query: Select[AuditEntry], page: int, size: int) -> LogPage:
    total = _count(session, query)
    pages = max(1, -(-total // size))
    entries = session.scalars(
        query.order_by(AuditEntry.seq.desc()).offset((page - 1) * size).limit(size)
    ).all()
    return LogPage(rows_for(session, entries), page, pages, total)
