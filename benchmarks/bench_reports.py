"""Follow-up report speed over 100,000 approved assessments (issue 16, item 6).

    .venv/bin/python benchmarks/bench_reports.py [--assessments 100000] [--postgres URL]

Builds a database with a year of SAVRY-style assessments in 14 units, every one approved and
with its fact sealed as the app seals it (in batches per unit and month), loaded in bulk; the
facts of the half year before are there too, outside the period, as a real table would hold
them. Measures (median of five, after one warm-up) the whole report as a manager sees it over
all units and the year, its parts, the /reports page through the Flask test client, and beside
them, in the same run, the bare stack: a plain SQLAlchemy GROUP BY over the plaintext fact
rows (what a store without encryption would answer the first table with), a plain fetch of the
sealed batches, opening as many values of the same size with `cryptography`'s AESGCM and
`json.loads`, and a plain loop over the facts. The parts and the bare loops run, like the
report, with Python's cyclic garbage collector paused.

SQLite (a temporary file) always; PostgreSQL too, in a private schema, when --postgres or
RISKASSESS_TEST_POSTGRES_URL gives a database. --profile FILE writes a cProfile of one report.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

from bench_crypto import _migrated, postgres_schema
from bench_pages import PASSWORD, SETUP, bench_app, log_in, median_ms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import create_engine, func, insert, select, text

from riskassess.accounts import services as accounts
from riskassess.accounts.models import Unit, User
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.followup import add_months
from riskassess.assessments.models import Assessment, AssessmentKind
from riskassess.cases.models import Case
from riskassess.cases.services import age_on
from riskassess.core import crypto
from riskassess.core.crypto import Keyring
from riskassess.core.db import transaction, utcnow
from riskassess.core.keys import DataKey, Vault
from riskassess.core.localtime import LOCAL_TIME
from riskassess.instruments.definition import Instrument
from riskassess.instruments.services import record_version
from riskassess.reports import facts, measures, services
from riskassess.reports.facts import CHILD_VIEW, Fact
from riskassess.reports.models import AssessmentFact, FactBatch
from riskassess.training.seed import fictional_personnummer

UNITS = 14
YEAR = measures.Period(date(2025, 1, 1), date(2025, 12, 31))
BEFORE = 180  # days before the period whose facts the table also holds
REASSESSMENT_MONTHS = 6  # a local interval, as a municipality sets it, for the on-time flag
BATCH = 2000
RUNS = 5


@dataclass(frozen=True)
class Planned:
    """One approved assessment to load: its case (an index), its approval day, the one it
    followed (an index) and its fact."""

    case: int
    day: date
    previous: int | None
    fact: Fact


@dataclass(frozen=True)
class Child:
    unit_id: uuid.UUID
    sex: str
    born: date


def _fact(
    rng: random.Random,
    instrument: Instrument,
    child: Child,
    day: date,
    gap: int | None,
    on_time: bool | None,
) -> Fact:
    """Realistic spreads: most children have a few risk items rated High, the judgement
    follows the profile loosely, most have their view recorded, most approvals take days."""
    risk = [item.code for item in instrument.risk_items]
    protective = [item.code for item in instrument.items if item.scale.kind == "protective"]
    top = rng.choices(range(11), weights=[14, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3])[0]
    level = rng.choices(["low", "moderate", "high"], weights=[max(1, 8 - top), 4, 1 + top])[0]
    chosen = set(rng.sample(risk, top))
    return Fact(
        unit_id=child.unit_id,
        kind=AssessmentKind.REASSESSMENT if gap is not None else AssessmentKind.INITIAL,
        is_corrected=False,
        sex=child.sex,
        age=age_on(child.born, day),
        level=level,
        top_risk=tuple(code for code in risk if code in chosen),
        protective=tuple(code for code in protective if rng.random() < 0.4),
        needed_reason=(level == "low" and top >= 3) or rng.random() < 0.03,
        child_view=rng.choices(CHILD_VIEW, weights=[80, 12, 8])[0],
        days_to_approval=min(120, int(rng.expovariate(1 / 14))),
        days_since_previous=gap,
        on_time=on_time,
    )


def plan(
    instrument: Instrument, unit_ids: list[uuid.UUID], assessments: int
) -> tuple[list[Child], list[Planned]]:
    """Children first assessed from half a year before the period to its end, about half of
    them reassessed some months later (a third of the period's assessments), until the
    period holds `assessments`. Units differ in size (weights 1 to 14)."""
    rng = random.Random(16)  # noqa: S311 - fictional spreads, not secrets
    children: list[Child] = []
    planned: list[Planned] = []
    in_period = 0
    while in_period < assessments:
        first = YEAR.first + timedelta(days=rng.randrange(-BEFORE, 365))
        age = rng.choices(range(12, 18), weights=[8, 14, 20, 22, 20, 16])[0]
        child = Child(
            rng.choices(unit_ids, weights=range(1, UNITS + 1))[0],
            "female" if rng.random() < 0.42 else "male",
            first - timedelta(days=365 * age + rng.randrange(365)),
        )
        children.append(child)
        planned.append(
            Planned(
                len(children) - 1, first, None, _fact(rng, instrument, child, first, None, None)
            )
        )
        in_period += first >= YEAR.first
        gap = int(rng.triangular(60, 400, 170))
        again = first + timedelta(days=gap)
        if rng.random() < 0.6 and again <= YEAR.last and in_period < assessments:
            on_time = again <= add_months(first, REASSESSMENT_MONTHS)
            fact = _fact(rng, instrument, child, again, gap, on_time)
            planned.append(Planned(len(children) - 1, again, len(planned) - 1, fact))
            in_period += again >= YEAR.first
    return children, planned


def _approved_dt(day: date) -> datetime:
    return datetime.combine(day, clock(10), LOCAL_TIME)


def seed(app: Flask, assessments: int) -> tuple[int, list[bytes]]:
    """Bulk-load the units, a manager, the children's cases (each with its own data key and
    sealed identity), their approved assessments (a sealed content each; the first of a
    reassessed child superseded) and their facts in sealed batches per unit and month. Returns
    the number of facts in the period and the plaintexts of its batches, for the bare loop."""
    state = app.extensions["riskassess"]
    instrument = state.instruments.get("savry-style", "1.0")
    with transaction(state.session_factory) as session:
        units = [
            accounts.create_unit(session, SETUP, f"bench{n:02d}", f"Enhet {n:02d}")
            for n in range(UNITS)
        ]
        caseworker = accounts.create_user(
            session, state.passwords, SETUP, username="bench.cw", display_name="Bänk",
            password=PASSWORD, role="caseworker", unit=units[0],
        )  # fmt: skip
        accounts.create_user(
            session, state.passwords, SETUP, username="bench.chef", display_name="Bänkchef",
            password=PASSWORD, role="manager", unit=None,
        )  # fmt: skip
        record_version(session, instrument)
        vault = Vault(state.keyring)
        statistics = facts.statistics_key(session, vault)
        children, planned = plan(instrument, [u.id for u in units], assessments)
        followed = {p.previous for p in planned if p.previous is not None}
        items = {i.code: ItemRating(i.scale.levels[0].code, "Fiktiv") for i in instrument.items}
        content = Content(items, "low", "Fiktiv sammanfattning").to_json()
        now = utcnow()
        key_rows, case_rows, assessment_rows, fact_rows = [], [], [], []
        case_ids, key_ids = [], []
        for n, child in enumerate(children):
            key_id, case_id = uuid.uuid4(), uuid.uuid4()
            plain = crypto.new_data_key()
            kek, wrapped = crypto.wrap_data_key(state.keyring, key_id, plain)
            key_rows.append(
                {"id": key_id, "kek_id": kek, "wrapped_key": wrapped, "created_dt": now}
            )
            vault._open[key_id] = plain  # seeding only: skip unwrapping what was just made
            personnummer = fictional_personnummer(child.born, "9800").replace("-", "")
            identity = {
                "name": f"Fiktiv Bänkperson {n}", "personnummer": personnummer,
                "birth_date": child.born.isoformat(), "sex": child.sex,
            }  # fmt: skip
            case_rows.append({
                "id": case_id, "reference": f"RR-{n:07d}", "unit_id": child.unit_id,
                "data_key_id": key_id, "created_by_id": caseworker.id,
                "assigned_to_id": caseworker.id, "status": "open", "created_dt": now,
                "updated_dt": now, "pnr_index": vault.blind_index(personnummer),
                "identity": vault.seal_json(
                    session, key_id, identity, "case_file", "identity", case_id
                ),
                "is_protected": False,
            })  # fmt: skip
            case_ids.append(case_id)
            key_ids.append(key_id)
        assessment_ids: list[uuid.UUID] = []
        in_period = 0
        batch_ids: dict[tuple[uuid.UUID, date], uuid.UUID] = {}
        batched: dict[uuid.UUID, dict[str, list[object]]] = {}
        for n, entry in enumerate(planned):
            assessment_id = uuid.uuid4()
            assessment_ids.append(assessment_id)
            case_id, key_id = case_ids[entry.case], key_ids[entry.case]
            decided = _approved_dt(entry.day)
            started = decided - timedelta(days=entry.fact.days_to_approval)
            assessment_rows.append({
                "id": assessment_id, "case_id": case_id, "instrument_id": instrument.id,
                "instrument_version": instrument.version,
                "instrument_hash": instrument.content_hash,
                "state": "superseded" if n in followed else "approved",
                "created_by_id": caseworker.id, "created_dt": started, "updated_dt": decided,
                "submitted_dt": decided, "decided_by_id": caseworker.id, "decided_dt": decided,
                "content_hash": "0" * 64, "kind": entry.fact.kind, "lock_version": 1,
                "previous_id": None if entry.previous is None else assessment_ids[entry.previous],
                "content": vault.seal_json(
                    session, key_id, content, "assessment", "content", assessment_id
                ),
            })  # fmt: skip
            month = (entry.fact.unit_id, entry.day.replace(day=1))
            batch_id = batch_ids.setdefault(month, uuid.uuid4())
            fact_rows.append({
                "assessment_id": assessment_id, "case_id": case_id,
                "unit_id": entry.fact.unit_id, "instrument_id": instrument.id,
                "instrument_version": instrument.version, "approved_dt": decided,
                "kind": entry.fact.kind, "is_corrected": False,
                "batch_id": batch_id,
            })  # fmt: skip
            batched.setdefault(batch_id, {})[str(assessment_id)] = entry.fact.entry(entry.day)
            in_period += entry.day >= YEAR.first
        batch_rows = [
            {
                "id": batch_id, "instrument_id": instrument.id, "unit_id": unit_id,
                "month": month, "key_id": statistics,
                "sealed": vault.seal_json(
                    session, statistics, {"facts": batched[batch_id]}, "fact_batch", "sealed",
                    batch_id,
                ),
            }
            for (unit_id, month), batch_id in batch_ids.items()
        ]  # fmt: skip
        for table, rows in (
            (DataKey, key_rows),
            (Case, case_rows),
            (Assessment, assessment_rows),
            (FactBatch, batch_rows),
            (AssessmentFact, fact_rows),
        ):
            for start in range(0, len(rows), BATCH):
                session.execute(insert(table), rows[start : start + BATCH])
        plaintexts = [
            json.dumps({"facts": batched[batch_id]}, separators=(",", ":")).encode()
            for (_unit, month), batch_id in batch_ids.items()
            if month >= YEAR.first.replace(day=1)
        ]
    return in_period, plaintexts


@contextmanager
def profiled(path: str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    yield
    profile.disable()
    profile.dump_stats(path)


def measure(
    app: Flask, url: str, in_period: int, plaintexts: list[bytes], profile: str | None
) -> list[tuple[str, float]]:
    """Median milliseconds of the report, its parts, the page, and the bare stack."""
    state = app.extensions["riskassess"]
    factory = state.session_factory
    instrument = state.instruments.get("savry-style", "1.0")
    start, end = YEAR.bounds()
    with factory() as session:
        manager = session.scalars(select(User).where(User.username == "bench.chef")).one()
        units = list(session.scalars(select(Unit).order_by(Unit.name)))
        session.expunge_all()
    unit_ids = [u.id for u in units]

    def report() -> measures.Report:
        with transaction(factory) as session:
            user = session.merge(manager, load=False)
            return services.make_report(session, Vault(state.keyring), user, instrument, YEAR)

    def opened() -> list[Fact]:
        with factory() as session, services._collector_paused():
            vault = Vault(state.keyring)
            return facts.open_facts(session, vault, instrument.id, YEAR.first, YEAR.last, unit_ids)

    def counted() -> measures.Report:
        with services._collector_paused():
            return measures.measures(instrument, YEAR, units, every, 0)

    def missing() -> int:
        with factory() as session:
            return facts.count_missing(session, instrument.id, start, end, unit_ids)

    every = opened()
    assert len(every) == in_period, (len(every), in_period)
    checked = report()
    assert checked.assessed == in_period and checked.missing == 0

    client = app.test_client()
    log_in(client, "bench.chef")
    page_path = f"/reports?date_from={YEAR.first}&date_to={YEAR.last}&instrument=savry-style@1.0"

    def page() -> None:
        response = client.get(page_path)
        assert response.status_code == 200 and "Enhet 13" in response.get_data(as_text=True)

    with profiled(profile):
        report()

    bare_engine = create_engine(url)

    def bare_group_by() -> list[Any]:
        """What a store without encryption would answer the first table with."""
        window = (
            AssessmentFact.instrument_id == instrument.id,
            AssessmentFact.approved_dt >= start,
            AssessmentFact.approved_dt < end,
        )
        with bare_engine.connect() as conn:
            query = select(AssessmentFact.unit_id, func.count()).where(*window)
            return list(conn.execute(query.group_by(AssessmentFact.unit_id)))

    def bare_fetch() -> list[Any]:
        with bare_engine.connect() as conn:
            return list(
                conn.execute(
                    select(FactBatch.id, FactBatch.sealed).where(
                        FactBatch.instrument_id == instrument.id,
                        FactBatch.month >= YEAR.first,
                        FactBatch.month <= YEAR.last,
                    )
                )
            )

    key = AESGCM.generate_key(bit_length=256)
    aad = b"x" * (17 + len(f"fact_batch/sealed/{uuid.uuid4()}"))  # header + context
    nonces = [os.urandom(12) for _ in plaintexts]
    sealed = [
        (nonce, AESGCM(key).encrypt(nonce, p, aad))
        for nonce, p in zip(nonces, plaintexts, strict=True)
    ]

    def bare_decrypt_json() -> list[Any]:
        cipher = AESGCM(key)
        with services._collector_paused():
            return [json.loads(cipher.decrypt(nonce, body, aad)) for nonce, body in sealed]

    def bare_loop() -> list[tuple[Any, ...]]:
        """The floor of counting: every fact's fields read once in plain Python."""
        with services._collector_paused():
            return [tuple(f) for f in every]

    n, b = in_period, len(plaintexts)
    results = [
        (f"make_report, manager, {UNITS} units, a year (+ commit)", median_ms(report, RUNS)),
        (f"  open_facts alone ({n:,} facts in {b:,} batches)", median_ms(opened, RUNS)),
        ("  count_missing alone", median_ms(missing, RUNS)),
        ("  measures() alone (pure)", median_ms(counted, RUNS)),
        ("GET /reports as a manager (test client)", median_ms(page, RUNS)),
        ("bare: SELECT unit_id, count(*) ... GROUP BY unit_id", median_ms(bare_group_by, RUNS)),
        (f"bare: fetch the {b:,} sealed batches", median_ms(bare_fetch, RUNS)),
        (f"bare: AESGCM decrypt + json.loads {b:,} batches", median_ms(bare_decrypt_json, RUNS)),
        (f"bare: copy the {n:,} facts as tuples", median_ms(bare_loop, RUNS)),
    ]
    bare_engine.dispose()
    return results


def run(name: str, url: str, keyring: Path, assessments: int, profile: str | None) -> None:
    app = bench_app(url, keyring)
    began = time.perf_counter()
    in_period, plaintexts = seed(app, assessments)
    seeded = time.perf_counter() - began
    engine = app.extensions["riskassess"].session_factory.kw["bind"]
    with engine.connect() as conn:
        version = conn.execute(
            text("select sqlite_version()" if url.startswith("sqlite") else "show server_version")
        ).scalar()
        total = conn.execute(select(func.count()).select_from(AssessmentFact)).scalar()
    print(
        f"-- {name} {version}: {total:,} facts in the table, {in_period:,} in the "
        f"period; seeded in {seeded:.0f} s"
    )
    results = measure(app, url, in_period, plaintexts, profile)
    print(f"{'what':62} {'median ms':>10}")
    for what, ms in results:
        print(f"{what:62} {ms:10.1f}")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assessments", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("RISKASSESS_TEST_POSTGRES_URL"))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", help="write a cProfile of one report to this file")
    args = parser.parse_args()
    print(f"sqlite3 library {sqlite3.sqlite_version}; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        keyring = Path(tmp) / "keyring.json"
        Keyring.generate().save_new(keyring)
        if not args.no_sqlite:
            url = _migrated(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
            run("SQLite (WAL)", url, keyring, args.assessments, args.profile)
        if args.postgres:
            with postgres_schema(args.postgres) as url:
                profile = args.profile and f"{args.profile}.postgres"
                run(
                    "PostgreSQL, private schema", _migrated(url), keyring, args.assessments, profile
                )


if __name__ == "__main__":
    main()
