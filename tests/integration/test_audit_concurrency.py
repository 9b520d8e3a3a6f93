"""Appends are serialized on each real database: eight processes appending at once leave one
chain, without gaps or forks. On PostgreSQL the head is read after the advisory lock, in READ
COMMITTED; under a snapshot isolation `append` refuses instead of forking."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from riskassess.core import audit
from riskassess.core.audit import Actor, AuditEntry, AuditError, verify_chain
from riskassess.core.db import make_engine, make_session_factory, transaction

WORKERS = 8
PER_WORKER = 25
ACTOR = Actor.system("test")


def _append_many(url: str, worker: int, count: int, barrier: Any) -> None:
    """One process: its own engine, one committed transaction per entry, like a web worker."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    actor = Actor.system(f"worker-{worker}")
    barrier.wait(timeout=60)  # start together, so the appends really interleave
    try:
        for i in range(count):
            with transaction(factory) as session:
                audit.append(
                    session,
                    actor,
                    "test:entry:create",
                    object_type="test",
                    object_id=f"w{worker}-{i}",
                )
    finally:
        engine.dispose()


@pytest.mark.usefixtures("app")
def test_eight_processes_append_one_chain(database_url: str, db: Session) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    processes = [
        context.Process(target=_append_many, args=(database_url, w, PER_WORKER, barrier))
        for w in range(WORKERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
    assert [p.exitcode for p in processes] == [0] * WORKERS

    db.rollback()
    rows = db.execute(
        select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.object_id).order_by(AuditEntry.seq)
    ).all()
    total = WORKERS * PER_WORKER
    assert [r.seq for r in rows] == list(range(1, total + 1)), "gaps or duplicates"
    assert len({r.prev_hash for r in rows}) == total, "two entries share a parent: a fork"
    expected = {f"w{w}-{i}" for w in range(WORKERS) for i in range(PER_WORKER)}
    assert {r.object_id for r in rows} == expected, "an append was lost"
    # On PostgreSQL the workers' entries interleave: the appends really ran concurrently. SQLite's
    # lock is not fair (a waiting writer sleeps while the holder starts its next transaction),
    # so there a run may legitimately come out nearly one worker after another.
    if database_url.startswith("postgresql"):
        owners = [r.object_id.split("-")[0] for r in rows]
        assert sum(a != b for a, b in itertools.pairwise(owners)) > WORKERS
    result = verify_chain(db)
    assert result.ok, result.problem
    assert result.checked == total


@pytest.fixture
def postgres_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite serializes with BEGIN IMMEDIATE")
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.mark.usefixtures("app")
def test_postgres_reads_the_head_after_the_lock(
    postgres_factory: sessionmaker[Session], db: Session
) -> None:
    first, second = postgres_factory(), postgres_factory()
    try:
        head = audit.append(first, ACTOR, "test:entry:create")  # holds the lock, uncommitted
        # The second transaction is already running and has read the (empty) log: under a
        # snapshot isolation its later head read would still see an empty log.
        assert second.scalar(select(func.count()).select_from(AuditEntry)) == 0
        appended: dict[str, AuditEntry] = {}
        waiting = threading.Thread(
            target=lambda: appended.update(entry=audit.append(second, ACTOR, "test:entry:create"))
        )
        waiting.start()
        time.sleep(0.3)
        assert waiting.is_alive(), "the second append must wait for the first one's lock"
        first.commit()
        waiting.join(timeout=10)
        assert not waiting.is_alive()
        second.commit()
        entry = appended["entry"]
        assert entry.seq == head.seq + 1
        assert entry.prev_hash == head.hash
    finally:
        first.close()
        second.close()
    db.rollback()
    assert verify_chain(db).ok


@pytest.mark.usefixtures("app")
def test_postgres_refuses_appends_under_snapshot_isolation(
    postgres_factory: sessionmaker[Session], db: Session
) -> None:
    engine = postgres_factory.kw["bind"]
    with engine.connect() as connection:
        snapshot = connection.execution_options(isolation_level="REPEATABLE READ")
        session = Session(bind=snapshot)
        with pytest.raises(AuditError, match="READ COMMITTED"):
            audit.append(session, ACTOR, "test:entry:create")
        session.rollback()
        session.close()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0
