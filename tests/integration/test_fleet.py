"""Several servers on one PostgreSQL database (issue 13, item 2): two gunicorn servers with
several workers each, and caseworkers and supervisors working at once through both, each
request going to the other server than the last (a load balancer without stickiness).

Afterwards every change each person made is in the database and in the audit log exactly once,
the audit chain verifies, no request failed, and a session started on one server is valid on
the other. Deliberate races of two editors, and of two supervisors deciding, each have exactly
one winner. Run with sessions in the database and in Redis."""

from __future__ import annotations

import os
import queue
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.accounts import services as accounts
from riskassess.accounts.models import LoginSession
from riskassess.accounts.passwords import Passwords
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.cases.models import Case
from riskassess.core import migrate
from riskassess.core.audit import AuditEntry, verify_chain
from riskassess.core.db import make_engine
from tests.conftest import (
    PASSWORD,
    TEST_ACTOR,
    claim_database,
    drop_postgres_schema,
    postgres_schema_url,
    skip_or_fail,
)
from tests.integration.served import CONFLICT_WORDS, CSRF, RECORD_PAGES, Browser, savry
from tests.integration.test_serve import _environment, _free_port, _serve, serving

CASEWORKERS = 4
SUPERVISORS = 2
CASES_EACH = 3  # the first assessment of each caseworker is returned once, then approved
DEADLINE_SECONDS = 120
RACES = 4

pytestmark = pytest.mark.fleet


@pytest.fixture
def fleet_database() -> Iterator[str]:
    base = os.environ.get("RISKASSESS_TEST_POSTGRES_URL")
    if not base:
        skip_or_fail("RISKASSESS_TEST_POSTGRES_URL is not set")
        return
    url, schema = postgres_schema_url(base)
    try:
        migrate.upgrade(url)
        claim_database(url)
        yield url
    finally:
        drop_postgres_schema(base, schema)


@pytest.fixture(params=["database", "redis"])
def sessions_in(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Environment for where sessions are kept; with Redis, a prefix of this test's own."""
    if request.param == "database":
        yield {}
        return
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.RedisError:
        skip_or_fail("Redis is not reachable on 127.0.0.1:6379")
        return
    prefix = f"ra-fleet-{secrets.token_hex(4)}:"
    try:
        yield {
            "RISKASSESS_REDIS_URL": "redis://127.0.0.1:6379/0",
            "RISKASSESS_REDIS_PREFIX": prefix,
        }
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()


def _people(url: str) -> tuple[list[str], list[str]]:
    engine = make_engine(url)
    passwords = Passwords(time_cost=1, memory_kib=64)
    with Session(engine) as session:
        unit = accounts.create_unit(session, TEST_ACTOR, "nord", "Testenhet nord")
        made: dict[str, list[str]] = {"caseworker": [], "supervisor": []}
        for role, count in (("caseworker", CASEWORKERS), ("supervisor", SUPERVISORS)):
            for n in range(count):
                name = f"{role[:3]}.{n}"
                accounts.create_user(
                    session,
                    passwords,
                    TEST_ACTOR,
                    username=name,
                    display_name=f"Test {name}",
                    password=PASSWORD,
                    role=role,
                    unit=unit,
                )
                made[role].append(name)
        session.commit()
    engine.dispose()
    return made["caseworker"], made["supervisor"]


class Tally:
    """What the people did, as they saw it answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: Counter[str] = Counter()
        self.errors: list[str] = []

    def add(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.done[what] += n


def _next(waiting: queue.Queue[str], tally: Tally) -> str:
    """The next item, unless another thread failed (then its error is what matters)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline and not tally.errors:
        try:
            return waiting.get(timeout=0.2)
        except queue.Empty:
            continue
    raise AssertionError("gave up waiting")


def _caseworker(
    browser: Browser,
    index: int,
    tally: Tally,
    to_review: queue.Queue[tuple[str, int, bool]],
    returned: queue.Queue[str],
) -> None:
    instrument = savry()
    sections = len(instrument.domains)
    for k in range(CASES_EACH):
        case_id = browser.create_case(100 * index + k)
        tally.add("case:case:create")
        assessment_id = browser.start(case_id)
        tally.add("case:assessment:create")
        for page in RECORD_PAGES:
            assert browser.save_record_page(assessment_id, page).status == 302
            tally.add("case:assessment:update")
        for section in range(sections):
            saved = browser.save_section(assessment_id, instrument, section)
            assert saved.status == 302, (saved.status, saved.text[:300])
            tally.add("case:assessment:update")
        assert browser.save_judgement(assessment_id).status == 302
        tally.add("case:assessment:update")
        assert browser.submit(assessment_id).status == 302
        tally.add("case:assessment:submit")
        to_review.put((assessment_id, index, k == 0))
    assessment_id = _next(returned, tally)
    assert browser.save_judgement(assessment_id, "Kompletterad sammanfattning").status == 302
    tally.add("case:assessment:update")
    assert browser.submit(assessment_id).status == 302
    tally.add("case:assessment:submit")
    to_review.put((assessment_id, index, False))


def _supervisor(
    browser: Browser,
    tally: Tally,
    to_review: queue.Queue[tuple[str, int, bool]],
    returned: list[queue.Queue[str]],
    total: int,
) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        with tally.lock:
            if tally.done["case:assessment:approve"] >= total or tally.errors:
                return
        try:
            assessment_id, owner, give_back = to_review.get(timeout=0.2)
        except queue.Empty:
            continue
        # Submitted through one server, in the queue as the other server shows it.
        assert assessment_id in browser.queue()
        if give_back:
            assert browser.review(assessment_id, "return", "Komplettera.").status == 302
            tally.add("case:assessment:return")
            returned[owner].put(assessment_id)
        else:
            assert browser.review(assessment_id, "approve").status == 302
            tally.add("case:assessment:approve")
    raise AssertionError("the supervisors did not get through the queue in time")


def _run(target: object, *args: object, tally: Tally) -> threading.Thread:
    def guarded() -> None:
        try:
            target(*args)  # type: ignore[operator]
        except BaseException as exc:  # reported by the test below
            with tally.lock:
                tally.errors.append(f"{getattr(target, '__name__', target)}: {exc!r}")

    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    return thread


def _race(first: Browser, second: Browser, send: list[tuple[str, dict[str, str]]]) -> list[int]:
    """Send two prepared POSTs at the same moment, one through each browser."""
    barrier = threading.Barrier(2)
    answers: list[int] = [0, 0]
    if first.turn % 2 == second.turn % 2:
        second.turn += 1  # one through each server

    def go(n: int, browser: Browser) -> None:
        barrier.wait()
        answer = browser.request("POST", *send[n])
        won = answer.status == 302
        lost = answer.status == 409 or (answer.status == 200 and CONFLICT_WORDS in answer.text)
        answers[n] = 1 if won else 0 if lost else -answer.status

    threads = [threading.Thread(target=go, args=(n, b)) for n, b in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def _count(session: Session, action: str, **where: object) -> int:
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    for column, value in where.items():
        query = query.where(getattr(AuditEntry, column) == value)
    return int(session.scalar(query) or 0)


def test_two_servers_share_the_work_and_lose_nothing(
    fleet_database: str, sessions_in: dict[str, str], keyring_path: Path, tmp_path: Path
) -> None:
    began = time.monotonic()
    caseworkers, supervisors = _people(fleet_database)
    with ExitStack() as stack:
        servers = []
        # One environment for both: the servers share the secret key (CSRF tokens are signed
        # with it) and the keyring, as every server of an installation must.
        env = _environment(
            fleet_database,
            keyring_path,
            tmp_path,
            RISKASSESS_WORKERS="2",
            RISKASSESS_THREADS="2",
            **sessions_in,
        )
        for n in range(2):
            port = _free_port()
            servers.append(
                stack.enter_context(serving(_serve(port), env, port, tmp_path / f"serve{n}.log"))
            )
        people = [Browser(servers, turn=n % 2) for n in range(CASEWORKERS + SUPERVISORS)]
        for browser, name in zip(people, caseworkers + supervisors, strict=True):
            browser.login(name)
            # The next request goes to the other server, with the same cookie.
            answer = browser.request("GET", "/cases")
            assert answer.status == 200, "a session started on one server is unknown on the other"
        if sessions_in:
            import redis

            client = redis.Redis.from_url(sessions_in["RISKASSESS_REDIS_URL"])
            prefix = sessions_in["RISKASSESS_REDIS_PREFIX"]
            in_redis = list(client.scan_iter(f"{prefix}session:*"))
            client.close()
            assert len(in_redis) == len(people)
        workers, bosses = people[:CASEWORKERS], people[CASEWORKERS:]

        tally = Tally()
        to_review: queue.Queue[tuple[str, int, bool]] = queue.Queue()
        returned: list[queue.Queue[str]] = [queue.Queue() for _ in workers]
        total = CASEWORKERS * CASES_EACH
        threads = [
            _run(_caseworker, b, n, tally, to_review, returned[n], tally=tally)
            for n, b in enumerate(workers)
        ]
        threads += [
            _run(_supervisor, b, tally, to_review, returned, total, tally=tally) for b in bosses
        ]
        for thread in threads:
            thread.join(DEADLINE_SECONDS + 10)
        assert not tally.errors, tally.errors
        assert not any(thread.is_alive() for thread in threads)
        parallel = time.monotonic() - began
        so_far: Counter[int] = sum((b.statuses for b in people), Counter())
        assert set(so_far) <= {200, 302}, so_far  # no failure, no conflict without a race

        # Two caseworkers save the same form at once, each through another server.
        first, second = workers[0], workers[1]
        instrument = savry()
        case_id = first.create_case(999)
        raced = first.start(case_id)
        edit_wins = 0
        for n in range(RACES):
            sends = [
                b.judgement_form(raced, f"Fiktiv sammanfattning {n}{b.turn}")
                for b in (first, second)
            ]
            assert sends[0][1]["lock_version"] == sends[1][1]["lock_version"]
            outcome = _race(first, second, sends)
            assert sorted(outcome) == [0, 1], outcome  # exactly one wins, the other is told
            edit_wins += 1
        for page in RECORD_PAGES:
            assert first.save_record_page(raced, page).status == 302
        for section in range(len(instrument.domains)):
            assert first.save_section(raced, instrument, section).status == 302
        assert first.submit(raced).status == 302
        # Two supervisors approve it at once: one signs, the other is told it was decided.
        decisions = []
        for boss in bosses:
            path = f"/assessments/{raced}"
            page = boss.page(path)
            token = CSRF.search(page)
            assert token
            decisions.append(
                (
                    f"{path}/review",
                    {"csrf_token": token.group(1), "decision": "approve", "password": PASSWORD},
                )
            )
        _race(bosses[0], bosses[1], decisions)

        # Logging out on one server ends the session on the other as well.
        assert bosses[0].post("/logout", {}, csrf_from="/cases").status == 302
        after = bosses[0].request("GET", "/cases")
        assert after.status == 302 and "/login" in after.headers["Location"]

    statuses: Counter[int] = Counter()
    for browser in people:
        statuses.update(browser.statuses)
    assert set(statuses) <= {200, 302, 409}, statuses  # 409: only a race's loser
    requests = sum(statuses.values())

    engine = make_engine(fleet_database)
    with Session(engine) as db:
        done = tally.done
        assert db.scalar(select(func.count()).select_from(Case)) == done["case:case:create"] + 1
        rows = list(db.scalars(select(Assessment)))
        assert len(rows) == done["case:assessment:create"] + 1
        assert all(row.state == "approved" for row in rows)
        raced_changes = {  # the raced assessment, on top of the tally
            "case:case:create": 1,
            "case:assessment:create": 1,
            "case:assessment:update": edit_wins + len(RECORD_PAGES) + len(instrument.domains),
            "case:assessment:submit": 1,
            "case:assessment:approve": 1,
        }
        for action, count in done.items():
            assert _count(db, action) == count + raced_changes.get(action, 0), action
        raced_id = uuid.UUID(raced)
        decided = select(ReviewDecision.decision).where(ReviewDecision.assessment_id == raced_id)
        assert list(db.scalars(decided)) == ["approve"]
        changes = ("update", "submit", "return", "approve")
        for row in rows:
            made = sum(
                _count(db, f"case:assessment:{verb}", object_id=str(row.id)) for verb in changes
            )
            assert row.lock_version == 1 + made, (row.id, row.lock_version, made)
            assert _count(db, "case:assessment:approve", object_id=str(row.id)) == 1
        assert verify_chain(db).ok
        if sessions_in:
            assert db.scalar(select(func.count()).select_from(LoginSession)) == 0
    engine.dispose()
    took = time.monotonic() - began
    print(  # the figures of the run, shown with pytest -s
        f"\nfleet ({'redis' if sessions_in else 'database'} sessions): {requests} requests "
        f"{dict(statuses)}, {dict(tally.done)}, parallel part {parallel:.1f}s, total {took:.1f}s"
    )
    assert took < 90
