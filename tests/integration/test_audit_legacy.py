"""Entries written before bodies began with their indexed columns (sorted-key JSON) still verify,
a changed column among them is still named, and new entries continue their chain."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from riskassess.core import audit
from riskassess.core.audit import Actor, AuditEntry, verify_chain
from riskassess.core.db import utcnow

pytestmark = pytest.mark.usefixtures("app")


def _legacy_chain(db: Session, n: int) -> None:
    """As the first version of `append` wrote them."""
    actor = Actor(uuid.uuid4(), "cw.old", "caseworker", uuid.uuid4())
    prev_hash = audit.GENESIS_HASH
    for seq in range(1, n + 1):
        now = utcnow()
        body = audit.canonical(
            {
                "seq": seq,
                "at": now.isoformat(),
                "actor": str(actor.user_id),
                "actor_name": actor.username,
                "role": actor.role,
                "unit": str(actor.unit_id),
                "action": "case:case:read",
                "object_type": "case",
                "object_id": str(seq),
                "outcome": "success",
                "details": {},
            }
        )
        digest = audit.chain_hash(prev_hash, body)
        db.add(
            AuditEntry(
                seq=seq,
                created_dt=now,
                actor_id=actor.user_id,
                action="case:case:read",
                object_type="case",
                object_id=str(seq),
                outcome="success",
                body=body,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    db.commit()


def test_old_entries_verify_and_new_ones_follow(db: Session) -> None:
    _legacy_chain(db, 4)
    entry = audit.append(db, Actor.system("test"), "test:entry:create")
    db.commit()
    assert entry.seq == 5
    result = verify_chain(db)
    assert result.ok, result.problem
    assert result.checked == 5
    assert audit.entry_fields(db.get(AuditEntry, 2).body)["object_id"] == "2"  # type: ignore[union-attr]


def test_a_changed_column_of_an_old_entry_is_named(db: Session) -> None:
    _legacy_chain(db, 4)
    db.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(object_id="99"))
    db.commit()
    result = verify_chain(db)
    assert result.first_bad_seq == 3
    assert result.problem == "indexed columns differ from the hashed body"
