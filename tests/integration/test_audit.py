"""The hash chain on each real database, and `riskassess audit verify` as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from riskassess.core import audit
from riskassess.core.audit import Actor, AuditEntry, verify_chain

ACTOR = Actor.system("test")


def _chain(db: Session, n: int = 5) -> None:
    for i in range(n):
        audit.append(db, ACTOR, "test:entry:create", object_type="test", object_id=i)
    db.commit()


def test_appended_entries_link_and_verify(db: Session) -> None:
    _chain(db)
    result = verify_chain(db)
    assert result.ok and result.checked == 5
    first, second = db.get(AuditEntry, 1), db.get(AuditEntry, 2)
    assert first is not None and second is not None
    assert first.prev_hash == audit.GENESIS_HASH and second.prev_hash == first.hash


def test_edited_body_is_named(db: Session) -> None:
    _chain(db)
    entry = db.get(AuditEntry, 3)
    assert entry is not None
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.seq == 3)
        .values(body=entry.body.replace("test:entry:create", "test:entry:delete"))
    )
    db.commit()
    result = verify_chain(db)
    assert not result.ok and result.first_bad_seq == 3


def test_edited_indexed_column_is_named(db: Session) -> None:
    _chain(db)
    db.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(action="test:entry:other"))
    db.commit()
    result = verify_chain(db)
    assert not result.ok and result.first_bad_seq == 2


def test_deleted_entry_is_named(db: Session) -> None:
    _chain(db)
    db.execute(delete(AuditEntry).where(AuditEntry.seq == 4))
    db.commit()
    result = verify_chain(db)
    assert not result.ok and result.first_bad_seq == 5


def test_rehashed_entry_breaks_the_next_link(db: Session) -> None:
    _chain(db)
    entry = db.get(AuditEntry, 2)
    assert entry is not None
    body = entry.body.replace("|test|1|", "|test|9|")
    assert body != entry.body
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.seq == 2)
        .values(body=body, object_id="9", hash=audit.chain_hash(entry.prev_hash, body))
    )
    db.commit()
    result = verify_chain(db)
    assert not result.ok and result.first_bad_seq == 3


def _verify_cli(
    database_url: str, keyring_path: Path, instance: Path
) -> subprocess.CompletedProcess[str]:
    # Its own instance folder: the checkpoints of a demo or a benchmark run from the checkout
    # (./instance) are signed by another keyring.
    env = dict(
        os.environ,
        RISKASSESS_DATABASE_URL=database_url,
        RISKASSESS_KEYRING=str(keyring_path),
        RISKASSESS_INSTANCE_PATH=str(instance),
    )
    return subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.usefixtures("app")
def test_cli_verify_exit_codes(
    db: Session, database_url: str, keyring_path: Path, tmp_path: Path
) -> None:
    _chain(db)
    ok = _verify_cli(database_url, keyring_path, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "5 entries verified" in ok.stdout
    db.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    db.commit()
    broken = _verify_cli(database_url, keyring_path, tmp_path)
    assert broken.returncode == 1
    assert "entry 3" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_deferred_entries_are_written_by_the_commit(app: Flask, database_url: str) -> None:
    """A request's entries wait for its commit (the chain lock is taken only then), in order,
    and vanish with a rollback."""
    factory = app.extensions["riskassess"].session_factory
    with factory() as session:
        audit.defer_appends(session)
        assert audit.append(session, ACTOR, "test:entry:create", object_id=1) is None
        audit.append(session, ACTOR, "test:entry:update", object_id=1)
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        session.commit()
    with factory() as session:
        audit.defer_appends(session)
        audit.append(session, ACTOR, "test:entry:delete", object_id=1)
        session.rollback()
        session.commit()
    with factory() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions == ["test:entry:create", "test:entry:update"]
        assert verify_chain(session).ok


def test_deferred_entries_wait_past_a_savepoint_and_refusals_outlive_a_rollback(
    app: Flask,
) -> None:
    """A savepoint's release is not the commit (SQLAlchemy fires before_commit for it too), and
    a rollback keeps refusals for the request's end to write on their own."""
    factory = app.extensions["riskassess"].session_factory
    count = select(func.count()).select_from(AuditEntry)
    with factory() as session:
        audit.defer_appends(session)
        audit.append(session, ACTOR, "test:entry:read", object_id=1)
        with session.begin_nested():
            session.execute(select(1))
        assert session.scalar(count) == 0, "written at the savepoint's release"
        session.commit()
        assert session.scalar(count) == 1
    with factory() as session:
        audit.defer_appends(session)
        audit.append(session, ACTOR, "test:entry:update", object_id=1)
        audit.append_denial(session, ACTOR, "test:entry:delete", "test", 1)
        session.rollback()
        kept = audit.take_kept(session)
        assert [item.action for item in kept] == ["test:entry:delete"]
        assert audit.take_kept(session) == []  # handed over once
        audit.write_kept(session, kept)
        session.commit()
    with factory() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions == ["test:entry:read", "test:entry:delete"]
        assert verify_chain(session).ok
