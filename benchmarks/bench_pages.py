"""Page speed with a full database: 10,000 cases and 30,000 assessments (SQLite).

    .venv/bin/python benchmarks/bench_pages.py [--cases 10000]

Measures the median time of the case list, a case page and a section save through the Flask
test client, and counts the SQL statements each issues at 100 cases and at the full size (they
must be the same: no query per row). Beside it, in the same run, the bare stack: a Flask view
that selects 25 rows with SQLAlchemy and renders them with Jinja.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from riskassess.accounts import services as accounts
from riskassess.accounts.models import User
from riskassess.app import create_app
from riskassess.assessments.content import Content, ItemRating, PlanEntry
from riskassess.assessments.models import Assessment, FollowUp, ReviewDecision
from riskassess.assessments.services import content_hash
from riskassess.cases.models import Case
from riskassess.config import load_settings
from riskassess.core import crypto, migrate
from riskassess.core.audit import Actor
from riskassess.core.crypto import Keyring
from riskassess.core.db import make_engine, make_session_factory, transaction, utcnow
from riskassess.core.installation import claim_mode
from riskassess.core.keys import DataKey, Vault
from riskassess.instruments.services import record_version
from riskassess.training.seed import fictional_personnummer

PASSWORD = "benchmark-password"  # noqa: S105 - a throwaway account in a temporary database
SETUP = Actor.system("benchmark")


def median_ms(work: Callable[[], object], runs: int = 30) -> float:
    work()  # warm caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _assessment_plan(n: int) -> list[str]:
    """The states of a case's three assessments: half the cases have an approved one (with a
    plan of two follow-up dates, one overdue), a quarter one waiting for review; every case
    has a withdrawn one, and those without a submitted one an open draft."""
    if n % 4 == 0:
        return ["approved", "submitted", "withdrawn"]
    if n % 4 == 2:
        return ["approved", "draft", "withdrawn"]
    return ["draft", "withdrawn", "withdrawn"]


def seed(app: Flask, cases: int, offset: int = 0) -> tuple[uuid.UUID, uuid.UUID]:
    """Bulk-load fictional cases, each with its own data key and three assessments: approved
    ones with their decision and plan follow-ups, submitted ones, drafts and withdrawn ones.
    Returns the first case and its draft (the first case, n = offset, must be even)."""
    state = app.extensions["riskassess"]
    instrument = state.instruments.get("savry-style", "1.0")
    with transaction(state.session_factory) as session:
        if session.scalar(select(User).where(User.username == "bench.cw")) is None:
            unit = accounts.create_unit(session, SETUP, "bench", "Enhet Bänk")
            accounts.create_user(
                session, state.passwords, SETUP, username="bench.cw", display_name="Bänk",
                password=PASSWORD, role="caseworker", unit=unit,
            )  # fmt: skip
            accounts.create_user(
                session, state.passwords, SETUP, username="bench.sup", display_name="Bänkchef",
                password=PASSWORD, role="supervisor", unit=unit,
            )  # fmt: skip
            record_version(session, instrument)
        user = session.scalar(select(User).where(User.username == "bench.cw"))
        supervisor = session.scalar(select(User).where(User.username == "bench.sup"))
        assert user is not None and user.unit_id is not None and supervisor is not None
        vault = Vault(state.keyring)
        today = date.today()
        plan = [
            PlanEntry(["H1"], "Fiktiv insats", "Fiktiv ansvarig", str(today - timedelta(days=3))),
            PlanEntry(["S1"], "Fiktiv insats", "Fiktiv ansvarig", str(today + timedelta(days=60))),
        ]  # fmt: skip
        rated = Content(
            {
                i.code: ItemRating(i.scale.levels[0].code, "Fiktiv motivering")
                for i in instrument.items
            },
            "low",
            "Fiktiv sammanfattning",
            plan=plan,
        )
        content, approved_hash = rated.to_json(), content_hash(rated)
        key_rows, case_rows, assessment_rows, decision_rows, follow_up_rows = [], [], [], [], []
        now = utcnow()
        first_draft = None
        for n in range(offset, offset + cases):
            key_id, case_id = uuid.uuid4(), uuid.uuid4()
            plain = crypto.new_data_key()
            kek, wrapped = crypto.wrap_data_key(state.keyring, key_id, plain)
            key_rows.append(
                {"id": key_id, "kek_id": kek, "wrapped_key": wrapped, "created_dt": now}
            )
            vault._open[key_id] = plain  # seeding only: skip unwrapping what was just made
            born = date(2010, 1, 1) + timedelta(days=n % 1500)
            identity = {
                "name": f"Fiktiv Bänkperson {n}",
                "personnummer": fictional_personnummer(born, "9800").replace("-", ""),
                "birth_date": born.isoformat(),
                "sex": "female" if n % 2 else "male",
            }
            sealed = vault.seal_json(session, key_id, identity, "case_file", "identity", case_id)
            changed = now - timedelta(seconds=n)
            case_rows.append({
                "id": case_id, "reference": f"RB-{n:07d}", "unit_id": user.unit_id,
                "data_key_id": key_id, "created_by_id": user.id, "assigned_to_id": user.id,
                "status": "open", "created_dt": now, "updated_dt": changed,
                "pnr_index": vault.blind_index(identity["personnummer"]),
                "identity": sealed, "is_protected": False,
            })  # fmt: skip
            for position, assessment_state in enumerate(_assessment_plan(n)):
                assessment_id = uuid.uuid4()
                body = vault.seal_json(
                    session, key_id, content, "assessment", "content", assessment_id
                )
                made = changed - timedelta(days=30 * (3 - position))
                decided = assessment_state in ("approved", "withdrawn")
                assessment_rows.append({
                    "id": assessment_id, "case_id": case_id, "instrument_id": instrument.id,
                    "instrument_version": instrument.version,
                    "instrument_hash": instrument.content_hash, "state": assessment_state,
                    "created_by_id": user.id, "created_dt": made, "updated_dt": made,
                    "kind": "initial", "lock_version": 1, "content": body,
                    "submitted_dt": made if assessment_state in ("approved", "submitted") else None,
                    "decided_by_id": (
                        supervisor.id if assessment_state == "approved"
                        else user.id if decided else None
                    ),
                    "decided_dt": made if decided else None,
                    "content_hash": approved_hash if assessment_state == "approved" else None,
                })  # fmt: skip
                if first_draft is None and assessment_state == "draft":
                    first_draft = assessment_id
                if decided:
                    decision_id = uuid.uuid4()
                    decision_rows.append({
                        "id": decision_id, "assessment_id": assessment_id,
                        "author_id": supervisor.id if assessment_state == "approved" else user.id,
                        "decision": "approve" if assessment_state == "approved" else "withdraw",
                        "created_dt": made,
                        "comment": vault.seal_json(
                            session, key_id, "Fiktiv kommentar", "review_decision", "comment",
                            decision_id,
                        ),
                    })  # fmt: skip
                if assessment_state == "approved":
                    for row, entry in enumerate(plan):
                        follow_up_rows.append({
                            "id": uuid.uuid4(), "case_id": case_id,
                            "assessment_id": assessment_id, "plan_row": row,
                            "due_on": date.fromisoformat(entry.follow_up),
                        })  # fmt: skip
        for table, rows in (
            (DataKey, key_rows),
            (Case, case_rows),
            (Assessment, assessment_rows),
            (ReviewDecision, decision_rows),
            (FollowUp, follow_up_rows),
        ):
            for start in range(0, len(rows), 2000):
                session.execute(insert(table), rows[start : start + 2000])
        assert first_draft is not None
        return case_rows[0]["id"], first_draft


def log_in(client: FlaskClient, username: str = "bench.cw") -> None:
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def measure(
    app: Flask, engine: Engine, case_id: uuid.UUID, assessment_id: uuid.UUID
) -> dict[str, tuple[float, int]]:
    client = app.test_client()
    log_in(client)
    save_path = f"/assessments/{assessment_id}/rate/H"

    def save() -> None:
        page = client.get(save_path).get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        lock = page.split('name="lock_version" type="hidden" value="')[1].split('"')[0]
        response = client.post(
            save_path,
            data={
                "csrf_token": token,
                "lock_version": lock,
                "rating_H1": "high",
                "rationale_H1": "Fiktiv",
            },
        )
        assert response.status_code == 302

    results = {}
    for name, work in (
        ("case list (25 of all)", lambda: client.get("/cases")),
        ("case page", lambda: client.get(f"/cases/{case_id}")),
        ("section page + save (GET and POST)", save),
    ):
        with counting(engine) as statements:
            work()
        results[name] = (median_ms(work), len(statements))
    return results


def bare_stack(url: str) -> float:
    """Flask + SQLAlchemy + Jinja with nothing of riskassess: 25 case rows rendered."""
    bare = Flask("bare")
    engine = make_engine(url)
    factory = make_session_factory(engine)

    @bare.get("/")
    def page() -> str:
        with factory() as session:
            rows = session.scalars(select(Case).order_by(Case.updated_dt.desc()).limit(25)).all()
            return render_template_string(
                "<table>{% for c in rows %}<tr><td>{{ c.reference }}</td></tr>{% endfor %}</table>",
                rows=rows,
            )

    client = bare.test_client()
    result = median_ms(lambda: client.get("/"))
    engine.dispose()
    return result


def bench_app(url: str, keyring: Path) -> Flask:
    """The app in production mode on a migrated database, logging in with a password only."""
    settings = replace(
        load_settings({}, mode="production"), database_url=url, keyring_path=keyring,
        secret_key="b" * 40, testing=True, secure_cookies=False,
        mfa_required=False,  # the benchmark logs in with a password only
    )  # fmt: skip
    return create_app(settings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        keyring = Path(tmp) / "keyring.json"
        Keyring.generate().save_new(keyring)
        migrate.upgrade(url)
        engine = make_engine(url)
        with transaction(make_session_factory(engine)) as session:
            claim_mode(session, "production")
        engine.dispose()
        app = bench_app(url, keyring)
        app_engine = app.extensions["riskassess"].session_factory.kw["bind"]
        start = time.perf_counter()
        small_case, small_assessment = seed(app, 100)
        small = measure(app, app_engine, small_case, small_assessment)
        seed(app, args.cases - 100, offset=100)
        took = time.perf_counter() - start
        print(f"seeded {args.cases} cases and {3 * args.cases} assessments in {took:.1f} s")
        full = measure(app, app_engine, small_case, small_assessment)
        print(f"{'page':40} {'median ms':>10} {'queries@100':>12} {'queries@full':>13}")
        for name, (ms, queries) in full.items():
            print(f"{name:40} {ms:10.1f} {small[name][1]:12d} {queries:13d}")
        print(f"{'bare Flask+SQLAlchemy+Jinja, 25 rows':40} {bare_stack(url):10.1f}")
        app_engine.dispose()


if __name__ == "__main__":
    main()
