"""The log by year: segments with their boundary hashes, and pruning a year older than the
retention period, leaving a signed record of exactly what was removed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import (
    delete,
    extract,
    func,
    select,
)
from sqlalchemy.orm import Session

from riskassess.core.audit.chain import _head, append
from riskassess.core.audit.checkpoints import Checkpoint, _prune_message, _sign, key_id
from riskassess.core.audit.models import (
    RETENTION_YEARS,
    Actor,
    AuditCaseRef,
    AuditEntry,
    AuditError,
    AuditPrune,
)
from riskassess.core.audit.verify import verify_chain
from riskassess.core.db import utcnow


@dataclass(frozen=True)
class Segment:
    year: int
    count: int
    first_seq: int
    last_seq: int
    first_prev_hash: str
    last_hash: str


def segments(session: Session) -> list[Segment]:
    """The entries still present, by calendar year (UTC), with their boundary hashes."""
    year = extract("year", AuditEntry.created_dt)
    rows = session.execute(
        select(year, func.count(), func.min(AuditEntry.seq), func.max(AuditEntry.seq))
        .group_by(year)
        .order_by(year)
    ).all()
    found = []
    for y, count, first, last in rows:
        first_prev = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.seq == first))
        last_hash = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == last))
        assert first_prev is not None and last_hash is not None
        found.append(Segment(int(y), count, first, last, first_prev, last_hash))
    return found


def pruned_segments(session: Session) -> list[AuditPrune]:
    return list(session.scalars(select(AuditPrune).order_by(AuditPrune.first_seq)))


def newest_prunable_year(today: date) -> int:
    """Years before this one may be pruned: the last RETENTION_YEARS full years are kept."""
    return today.year - RETENTION_YEARS


def prune_before_year(
    session: Session,
    key: Ed25519PrivateKey,
    actor: Actor,
    before_year: int,
    *,
    today: date,
    checkpoints: Sequence[Checkpoint] = (),
) -> AuditPrune:
    """Delete every entry older than 1 January of `before_year`, leaving a signed record.

    The removed range ends just before the first entry dated in `before_year` or later, so it
    is always a contiguous run from the start of the present log. The whole log must verify
    first: a prune must never certify entries that were already tampered with.
    """
    limit = newest_prunable_year(today)
    if before_year > limit:
        raise AuditError(
            f"Audit entries are kept at least {RETENTION_YEARS} full years: in {today.year} "
            f"entries before {limit} may be pruned, not entries before {before_year}."
        )
    check = verify_chain(session, checkpoints=checkpoints, public_key=key.public_key())
    if not check.ok:
        raise AuditError(
            f"The audit log does not verify (entry {check.first_bad_seq}: {check.problem}); "
            "nothing was pruned."
        )
    cutoff = datetime(before_year, 1, 1, tzinfo=UTC)
    boundary = session.scalar(
        select(func.min(AuditEntry.seq)).where(AuditEntry.created_dt >= cutoff)
    )
    first = session.scalars(select(AuditEntry).order_by(AuditEntry.seq).limit(1)).first()
    if first is None or (boundary is not None and boundary <= first.seq):
        raise AuditError(f"There are no audit entries before {before_year} to prune.")
    last_seq = (boundary - 1) if boundary is not None else _head(session)[0]
    last = session.get(AuditEntry, last_seq)
    assert last is not None  # the chain verified, so there are no gaps
    record = AuditPrune(
        first_seq=first.seq,
        last_seq=last.seq,
        first_prev_hash=first.prev_hash,
        last_hash=last.hash,
        entry_count=last.seq - first.seq + 1,
        before_year=before_year,
        first_dt=first.created_dt,
        last_dt=last.created_dt,
        pruned_dt=utcnow(),
        key_id=key_id(key.public_key()),
    )
    record.signature = _sign(key, _prune_message(record))
    session.add(record)
    # The entry goes in before the delete, so the head never disappears under it.
    append(
        session,
        actor,
        "audit:log:prune",
        object_type="audit_segment",
        object_id=f"{record.first_seq}-{record.last_seq}",
        details={
            "before_year": before_year,
            "first_seq": record.first_seq,
            "last_seq": record.last_seq,
            "count": record.entry_count,
            "last_hash": record.last_hash,
        },
    )
    session.execute(delete(AuditCaseRef).where(AuditCaseRef.seq <= record.last_seq))
    session.execute(delete(AuditEntry).where(AuditEntry.seq <= record.last_seq))
    session.flush()
    return record
