"""Cost of the crypto layer per case page and per saved assessment, beside the raw AES-GCM
work the same page needs, measured in the same run; and key rotation of 100,000 data keys.

    .venv/bin/python benchmarks/bench_crypto.py [--cases 100000]

PostgreSQL rotation too when RISKASSESS_TEST_POSTGRES_URL is set. Not part of the test suite:
figures go to benchmarks/README.md, tests never assert times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from riskassess.accounts import services as accounts
from riskassess.app import create_app
from riskassess.assessments.content import Content, ItemRating
from riskassess.cases import services as cases
from riskassess.config import load_settings
from riskassess.core import crypto, migrate
from riskassess.core.audit import Actor
from riskassess.core.crypto import Keyring
from riskassess.core.db import make_engine, make_session_factory, transaction, utcnow
from riskassess.core.installation import claim_mode
from riskassess.core.keys import DataKey, Vault, rewrap_data_keys
from riskassess.instruments.loader import load_directories
from riskassess.training.seed import fictional_personnummer

ACTOR = Actor.system("bench")
PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway benchmark database


def per_call_us(work: Callable[[], object], repeat: int = 5, number: int = 2000) -> float:
    """Median over `repeat` runs of the time per call, in microseconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            work()
        runs.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(runs)


def _content() -> Content:
    """A fully rated SAVRY-style assessment: 30 items with a rationale each, and a judgement."""
    registry = load_directories(load_settings({}).instruments_dirs)
    instrument = registry.get("savry-style", "1.0")
    assert instrument is not None
    rationale = "Fiktiv motivering som beskriver underlaget för bedömningen. " * 2
    return Content(
        {item.code: ItemRating(item.scale.levels[1].code, rationale) for item in instrument.items},
        "moderate",
        "Fiktiv sammanfattande bedömning med scenarier och skäl. " * 4,
    )


def bench_layer(session: Session) -> None:
    ring = Keyring.generate()
    identity = cases.Identity("Fiktiv Person", "201201019815", date(2012, 1, 1), "female")
    content = _content()
    seed_vault = Vault(ring)
    data_key = seed_vault.create_data_key(session)  # stays in the session: no SQL per call
    row = uuid.uuid4()
    identity_blob = seed_vault.seal_json(
        session, data_key.id, identity.to_json(), "case_file", "identity", row
    )
    content_blob = seed_vault.seal_json(
        session, data_key.id, content.to_json(), "assessment", "content", row
    )
    overhead = 1 + 16 + 12 + 16  # version, data key id, nonce, tag
    identity_bytes = len(identity_blob) - overhead
    content_bytes = len(content_blob) - overhead

    def case_page() -> None:
        # What a case page does: a fresh vault per request unwraps the case's data key once,
        # then opens the identity (twice: the header and the instrument choice).
        vault = Vault(ring)
        for _ in range(2):
            cases.Identity.from_json(
                vault.open_json(session, data_key.id, identity_blob, "case_file", "identity", row)
            )

    def saved_assessment() -> None:
        # What saving an assessment does: unwrap, open the stored content, seal the new one.
        vault = Vault(ring)
        Content.from_json(
            vault.open_json(session, data_key.id, content_blob, "assessment", "content", row)
        )
        vault.seal_json(session, data_key.id, content.to_json(), "assessment", "content", row)

    kek = ring.keks[ring.active_kek_id]
    dek = crypto.new_data_key()
    wrapped = AESGCM(kek).encrypt(b"\0" * 12, dek, b"aad")
    raw_identity = os.urandom(identity_bytes)
    raw_content = os.urandom(content_bytes)
    sealed_identity = AESGCM(dek).encrypt(b"\1" * 12, raw_identity, b"aad")
    sealed_content = AESGCM(dek).encrypt(b"\2" * 12, raw_content, b"aad")

    def raw_case_page() -> None:
        key = AESGCM(AESGCM(kek).decrypt(b"\0" * 12, wrapped, b"aad"))
        for _ in range(2):
            key.decrypt(b"\1" * 12, sealed_identity, b"aad")

    def raw_saved_assessment() -> None:
        key = AESGCM(AESGCM(kek).decrypt(b"\0" * 12, wrapped, b"aad"))
        key.decrypt(b"\2" * 12, sealed_content, b"aad")
        key.encrypt(os.urandom(12), raw_content, b"aad")

    small = os.urandom(200)

    def raw_round_trip() -> None:
        key = AESGCM(dek)
        nonce = os.urandom(12)
        key.decrypt(nonce, key.encrypt(nonce, small, b"ctx"), b"ctx")

    print(
        "raw AES-GCM round trip, 200 bytes                     : "
        f"{per_call_us(raw_round_trip):8.1f} us"
    )
    print(
        f"case page, crypto layer (unwrap + 2 x identity {identity_bytes} B)  : "
        f"{per_call_us(case_page):8.1f} us   raw AES-GCM for the same: "
        f"{per_call_us(raw_case_page):6.1f} us"
    )
    print(
        f"saved assessment, crypto layer (unwrap + open + seal {content_bytes} B): "
        f"{per_call_us(saved_assessment, number=500):8.1f} us   raw AES-GCM for the same: "
        f"{per_call_us(raw_saved_assessment, number=500):6.1f} us"
    )


def bench_page(url: str, keyring_path: Path) -> None:
    """A whole case page through the app (login, database, audit entry), for scale."""
    settings = replace(
        load_settings({}),
        database_url=url,
        keyring_path=keyring_path,
        secret_key="bench-" + "x" * 32,
        testing=True,
        password_time_cost=1,
        password_memory_kib=64,
        secure_cookies=False,
    )
    app = create_app(settings)
    factory = app.extensions["riskassess"].session_factory
    with transaction(factory) as session:
        unit = accounts.create_unit(session, ACTOR, "bench", "Bench")
        user = accounts.create_user(
            session,
            app.extensions["riskassess"].passwords,
            ACTOR,
            username="bench",
            display_name="Bench",
            password=PASSWORD,
            role="caseworker",
            unit=unit,
        )
        born = date(date.today().year - 15, 3, 14)
        normalized = fictional_personnummer(born, "9812").replace("-", "")
        case = cases.create_case(
            session,
            Vault(Keyring.load(keyring_path)),
            user,
            cases.Identity("Fiktiv Person", normalized, born, "female"),
        )
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
    path = f"/cases/{case.id}"
    assert client.get(path).status_code == 200

    def whole_page() -> None:
        client.get(path)

    print(
        f"whole case page through the app, SQLite (for scale)    : "
        f"{per_call_us(whole_page, number=200) / 1000:8.2f} ms"
    )
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def bench_rotation(url: str, count: int) -> None:
    ring = Keyring.generate()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    start = time.perf_counter()
    now = utcnow()
    batch = []
    with engine.begin() as connection:
        for _ in range(count):
            key_id = uuid.uuid4()
            kek_id, wrapped = crypto.wrap_data_key(ring, key_id, crypto.new_data_key())
            batch.append(
                {"id": key_id, "kek_id": kek_id, "wrapped_key": wrapped, "created_dt": now}
            )
            if len(batch) == 5000:
                connection.execute(insert(DataKey), batch)
                batch = []
        if batch:
            connection.execute(insert(DataKey), batch)
    print(f"  {count} data keys created in {time.perf_counter() - start:.1f} s")
    rotated, _ = ring.with_new_kek(activate=True)
    start = time.perf_counter()
    result = rewrap_data_keys(factory, rotated, ACTOR)
    elapsed = time.perf_counter() - start
    assert result.rewrapped == count and not result.failed
    print(
        f"  key rotation, {count} data keys, {result.batches} committed batches : "
        f"{elapsed:6.1f} s ({elapsed / count * 1e6:.0f} us per key)"
    )
    engine.dispose()


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    schema = "ra_bench_" + uuid.uuid4().hex[:8]
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    scoped = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _migrated(url: str) -> str:
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        claim_mode(session, "production")
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000, help="data keys to rotate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keyring_path = Path(tmp) / "keyring.json"
        Keyring.generate().save_new(keyring_path)
        url = _migrated(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        engine = make_engine(url)
        with Session(engine) as session:
            bench_layer(session)
            session.rollback()
        engine.dispose()
        bench_page(url, keyring_path)
        print("-- SQLite (WAL)")
        bench_rotation(_migrated(f"sqlite:///{Path(tmp) / 'rotation.sqlite'}"), args.cases)
    postgres = os.environ.get("RISKASSESS_TEST_POSTGRES_URL")
    if postgres:
        print("-- PostgreSQL, private schema")
        with postgres_schema(postgres) as url:
            bench_rotation(_migrated(url), args.cases)


if __name__ == "__main__":
    main()
