"""Sample checks (loggkontroll): drawing entries at random from a period, and recording a
finding for each, documented and audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from random import Random

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.audit_log import policy
from riskassess.audit_log.models import AuditSample, AuditSampleItem, CheckOutcome
from riskassess.audit_log.services.common import ACCESS_ACTIONS, SAMPLE_MAX, LogRow, _require
from riskassess.audit_log.services.rows import _names, rows_for
from riskassess.core import audit
from riskassess.core.audit import AuditEntry
from riskassess.core.db import utcnow
from riskassess.core.keys import Vault
from riskassess.errors import N_, DomainError


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
