"""Cost of the crypto layer and of an audit append, beside the bare stack in the same run.

    .venv/bin/python benchmarks/bench_core.py

Not part of the test suite: figures go to benchmarks/README.md, tests never assert times.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from riskassess.core import audit, migrate
from riskassess.core.crypto import Keyring
from riskassess.core.db import make_engine, make_session_factory
from riskassess.core.keys import Vault

PAYLOAD = {"name": "Fiktiv Person", "personnummer": "201201019815", "note": "x" * 120}


def per_call_us(work: Callable[[], object], repeat: int = 5, number: int = 2000) -> float:
    """Median over `repeat` runs of the time per call, in microseconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            work()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def bench_crypto(session_factory: sessionmaker[Session]) -> None:
    key = AESGCM.generate_key(bit_length=256)
    raw = os.urandom(200)

    def bare() -> None:
        nonce = os.urandom(12)
        AESGCM(key).decrypt(nonce, AESGCM(key).encrypt(nonce, raw, b"ctx"), b"ctx")

    vault = Vault(Keyring.generate())
    session = session_factory()
    data_key = vault.create_data_key(session)
    row = uuid.uuid4()

    def layered() -> None:
        blob = vault.seal_json(session, data_key.id, PAYLOAD, "case_file", "identity", row)
        vault.open_json(session, data_key.id, blob, "case_file", "identity", row)

    print(f"AES-GCM round trip, 200 bytes, bare cryptography : {per_call_us(bare):8.1f} us")
    print(f"Vault seal+open of an identity record (JSON)     : {per_call_us(layered):8.1f} us")
    session.rollback()


def bench_audit(url: str) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    actor = audit.Actor.system("bench")

    def bare_insert() -> None:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO installation_setting (key, value) VALUES (:k, 'v')"),
                {"k": uuid.uuid4().hex[:40]},
            )

    def append() -> None:
        with factory() as session:
            audit.append(session, actor, "bench:entry:create", object_type="bench", object_id=1)
            session.commit()

    bare_us = per_call_us(bare_insert, number=300)
    append_us = per_call_us(append, number=300)
    print(f"bare INSERT + COMMIT (same engine)               : {bare_us:8.1f} us")
    print(f"audit.append + COMMIT                            : {append_us:8.1f} us")
    with factory() as session:
        start = time.perf_counter()
        result = audit.verify_chain(session)
        elapsed = time.perf_counter() - start
        print(f"verify_chain over {result.checked:>6} entries            : {elapsed:8.3f} s")
    engine.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        bench_crypto(make_session_factory(engine))
        engine.dispose()
        print("-- SQLite (WAL, BEGIN IMMEDIATE)")
        bench_audit(url)
    postgres = os.environ.get("RISKASSESS_TEST_POSTGRES_URL")
    if postgres:
        print("-- PostgreSQL (advisory lock), private schema")
        schema = "ra_bench_" + uuid.uuid4().hex[:8]
        admin = make_engine(postgres)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        scoped = make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
        url = scoped.render_as_string(hide_password=False)
        try:
            migrate.upgrade(url)
            bench_audit(url)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
