"""The append-only, hash-chained audit log.

Each entry stores the exact canonical bytes that were hashed (`body`), so verification only
recomputes SHA-256 and compares the few indexed columns with the body. hash = SHA-256 over the
previous hash and the body. Appends are serialized: SQLite transactions start with
BEGIN IMMEDIATE (core/db.py); on PostgreSQL a transaction-scoped advisory lock is taken
before the head is read, so concurrent writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from riskassess.core.db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
# Any constant works; it only has to be the same for every writer of this database.
_PG_AUDIT_LOCK = 0x72_69_73_6B


class Outcome:
    SUCCESS = "success"
    DENIED = "denied"
    FAILURE = "failure"


@dataclass(frozen=True)
class Actor:
    """Who acts: enough to answer "who, in which role and unit" without touching a feature."""

    user_id: uuid.UUID | None
    username: str
    role: str
    unit_id: uuid.UUID | None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, role="system", unit_id=None)


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def canonical(fields: Mapping[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + body.encode()).hexdigest()


def _lock_head(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_AUDIT_LOCK})


def append(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    outcome: str = Outcome.SUCCESS,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction. `details` must hold no personal plaintext."""
    _lock_head(session)
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    now = utcnow()
    oid = None if object_id is None else str(object_id)
    body = canonical(
        {
            "seq": seq,
            "at": now.isoformat(),
            "actor": None if actor.user_id is None else str(actor.user_id),
            "actor_name": actor.username,
            "role": actor.role,
            "unit": None if actor.unit_id is None else str(actor.unit_id),
            "action": action,
            "object_type": object_type,
            "object_id": oid,
            "outcome": outcome,
            "details": dict(details or {}),
        }
    )
    entry = AuditEntry(
        seq=seq,
        created_dt=now,
        actor_id=actor.user_id,
        action=action,
        object_type=object_type,
        object_id=oid,
        outcome=outcome,
        body=body,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, body),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _columns_match(row: AuditEntry, fields: Mapping[str, Any]) -> bool:
    return (
        fields.get("seq") == row.seq
        and fields.get("action") == row.action
        and fields.get("object_type") == row.object_type
        and fields.get("object_id") == row.object_id
        and fields.get("outcome") == row.outcome
        and fields.get("actor") == (None if row.actor_id is None else str(row.actor_id))
    )


def verify_chain(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain in order; report the first entry whose hash, link or columns fail."""
    result = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    )
    try:
        return _walk(result.scalars())
    finally:
        result.close()  # a server-side cursor on PostgreSQL: close it even after an early return


def _walk(rows: Iterable[AuditEntry]) -> VerifyResult:
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for row in rows:
        if row.seq != expected_seq:
            return VerifyResult(
                checked, row.seq, f"entry {expected_seq} is missing before {row.seq}"
            )
        if row.prev_hash != prev_hash:
            return VerifyResult(checked, row.seq, "does not link to the entry before it")
        if chain_hash(prev_hash, row.body) != row.hash:
            return VerifyResult(checked, row.seq, "content does not match its hash")
        try:
            fields = json.loads(row.body)
        except ValueError:
            return VerifyResult(checked, row.seq, "body is not valid JSON")
        if not _columns_match(row, fields):
            return VerifyResult(checked, row.seq, "indexed columns differ from the hashed body")
        prev_hash, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
    return VerifyResult(checked)
