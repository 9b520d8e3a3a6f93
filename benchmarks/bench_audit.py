"""The audit log: append throughput with 1 and 8 writer processes, what one entry adds to a
request, and `verify` over a million entries beside a bare script, all in the same run.

    RISKASSESS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      .venv/bin/python benchmarks/bench_audit.py [--entries 1000000]

The bare script reads the same rows with the database driver alone and recomputes SHA-256 over
the same bytes (previous hash, newline, body); it checks nothing else. Not part of the test
suite: figures go to benchmarks/README.md, tests never assert times.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from riskassess.core import audit, migrate
from riskassess.core.db import make_engine, make_session_factory, transaction

WRITERS = (1, 8)
APPENDS_PER_WRITER = 400
REPEAT = 3
_COLUMNS = (
    "seq",
    "created_dt",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "body",
    "prev_hash",
    "hash",
)


def _writer(url: str, count: int, barrier: Any, done: Any) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    actor = audit.Actor(uuid.uuid4(), "bench", "caseworker", uuid.uuid4())
    barrier.wait()
    for _ in range(count):
        with transaction(factory) as session:
            audit.append(
                session, actor, "case:case:read", object_type="case", object_id=uuid.uuid4()
            )
    done.put(time.perf_counter())
    engine.dispose()


def append_throughput(url: str, writers: int) -> float:
    """Committed appends per second, all writers together (median of REPEAT runs)."""
    context = multiprocessing.get_context("spawn")
    rates = []
    for _ in range(REPEAT):
        barrier = context.Barrier(writers + 1)
        done = context.Queue()
        processes = [
            context.Process(target=_writer, args=(url, APPENDS_PER_WRITER, barrier, done))
            for _ in range(writers)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        start = time.perf_counter()
        finished = [done.get(timeout=600) for _ in processes]
        for process in processes:
            process.join()
        rates.append(writers * APPENDS_PER_WRITER / (max(finished) - start))
    return statistics.median(rates)


def added_to_a_request_us(url: str, number: int = 300) -> tuple[float, float]:
    """One request's transaction with and without its audit entry: (bare, with entry), in us."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    actor = audit.Actor(uuid.uuid4(), "bench", "caseworker", uuid.uuid4())

    def bare() -> None:
        with transaction(factory) as session:
            session.execute(
                text("INSERT INTO installation_setting (key, value) VALUES (:k, 'v')"),
                {"k": uuid.uuid4().hex[:40]},
            )

    def with_entry() -> None:
        with transaction(factory) as session:
            session.execute(
                text("INSERT INTO installation_setting (key, value) VALUES (:k, 'v')"),
                {"k": uuid.uuid4().hex[:40]},
            )
            audit.append(session, actor, "case:case:read", object_type="case", object_id=1)

    def per_call(work: Callable[[], None]) -> float:
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(number):
                work()
            runs.append((time.perf_counter() - start) / number * 1e6)
        return statistics.median(runs)

    result = per_call(bare), per_call(with_entry)
    engine.dispose()
    return result


def fill(url: str, count: int) -> None:
    """`count` chained entries, built exactly as `append` builds them, inserted in bulk."""
    engine = make_engine(url)
    actors = [audit.Actor(uuid.uuid4(), f"user{i}", "caseworker", uuid.uuid4()) for i in range(50)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.connect() as conn:
        conn.execute(text("DELETE FROM audit_entry"))
        conn.commit()
        prev_hash, batch = audit.GENESIS_HASH, []
        for seq in range(1, count + 1):
            entry = audit.make_entry(
                seq,
                prev_hash,
                start + timedelta(milliseconds=seq),
                actors[seq % len(actors)],
                "case:case:read",
                object_type="case",
                object_id=uuid.uuid4(),
            )
            prev_hash = entry.hash
            batch.append({c: getattr(entry, c) for c in _COLUMNS})
            if len(batch) == 20_000:
                conn.execute(insert(audit.AuditEntry), batch)
                conn.commit()
                batch = []
        if batch:
            conn.execute(insert(audit.AuditEntry), batch)
            conn.commit()
    engine.dispose()


_BARE_SQL = "SELECT seq, body, prev_hash, hash FROM audit_entry ORDER BY seq"


def bare_verify(url: str) -> int:
    """The bare script: the driver reads the rows, hashlib recomputes each hash. Nothing else."""
    sha256, count, bad = hashlib.sha256, 0, 0
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(make_url(url).database or "")
        cursor = connection.execute(_BARE_SQL)
    else:
        import psycopg

        parsed = make_url(url).set(drivername="postgresql")
        connection = psycopg.connect(parsed.render_as_string(hide_password=False))
        cursor = connection.cursor(name="bare")
        cursor.execute(_BARE_SQL)
    while rows := cursor.fetchmany(10_000):
        for _seq, body, prev_hash, digest in rows:
            if sha256(prev_hash.encode() + b"\n" + body.encode()).hexdigest() != digest:
                bad += 1
            count += 1
    connection.close()
    assert bad == 0
    return count


def riskassess_verify(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        result = audit.verify_chain(session)
        session.rollback()
    engine.dispose()
    assert result.ok, result.problem
    return result.checked


def cli_verify(url: str, instance: Path) -> None:
    env = dict(os.environ, RISKASSESS_DATABASE_URL=url, RISKASSESS_INSTANCE_PATH=str(instance))
    env["RISKASSESS_KEYRING"] = str(instance / "no-keyring.json")
    done = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench(name: str, url: str, entries: int, instance: Path) -> None:
    print(f"-- {name}")
    for writers in WRITERS:
        rate = append_throughput(url, writers)
        print(f"append + commit, {writers} writer process(es)     : {rate:8.0f} entries/s")
    bare_us, with_entry_us = added_to_a_request_us(url)
    print(
        f"request transaction, bare / with its entry     : {bare_us:6.0f} / {with_entry_us:.0f} us"
    )
    print(f"  one audit entry adds                         : {with_entry_us - bare_us:8.0f} us")
    start = time.perf_counter()
    fill(url, entries)
    print(f"filled {entries} entries in {time.perf_counter() - start:.0f} s")
    bare_runs, ours, command = [], [], []
    for _ in range(REPEAT):  # interleaved, so both see the same cache and machine load
        bare_runs.append(timed(lambda: bare_verify(url)))
        ours.append(timed(lambda: riskassess_verify(url)))
        command.append(timed(lambda: cli_verify(url, instance)))
    bare_s, ours_s, command_s = (statistics.median(x) for x in (bare_runs, ours, command))
    label = f"bare script (driver + sha256), {entries} entries"
    print(f"{label:<47}: {bare_s:8.2f} s")
    print(f"{'verify_chain, same rows':<47}: {ours_s:8.2f} s  ({ours_s / bare_s:.2f}x)")
    label = "`riskassess audit verify` (process included)"
    print(f"{label:<47}: {command_s:8.2f} s  ({command_s / bare_s:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        url = f"sqlite:///{instance / 'bench.sqlite'}"
        migrate.upgrade(url)
        bench("SQLite (WAL, BEGIN IMMEDIATE)", url, args.entries, instance)
        postgres = os.environ.get("RISKASSESS_TEST_POSTGRES_URL")
        if not postgres:
            return
        schema = "ra_bench_" + uuid.uuid4().hex[:8]
        admin = make_engine(postgres)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        scoped = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        url = scoped.render_as_string(hide_password=False)
        try:
            migrate.upgrade(url)
            bench(
                "PostgreSQL (advisory lock, READ COMMITTED), private schema",
                url,
                args.entries,
                instance,
            )
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
