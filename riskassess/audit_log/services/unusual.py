"""The unusual-access report: reads of other units' cases, emergency access and bursts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.audit_log import policy
from riskassess.audit_log.services.common import (
    _CASE_OBJECTS,
    EMERGENCY_ACTIONS,
    UNUSUAL_LIST_LIMIT,
    UNUSUAL_SCAN_LIMIT,
    UnusualReport,
    _count,
    _require,
)
from riskassess.audit_log.services.rows import (
    _cases_of,
    _names,
    _openings,
    _uuid,
    find_bursts,
    rows_for,
)
from riskassess.core import audit
from riskassess.core.audit import AuditEntry, entry_fields


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
