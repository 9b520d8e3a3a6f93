"""Crash safety (issue 13, item 4): the server is killed with SIGKILL, master and workers at
once, again and again at random moments while caseworkers save and submit assessments and a
supervisor approves them over HTTP, and started again each time.

While it is down after each kill, and at the end: the database passes its integrity checks
(SQLite's integrity_check and foreign_key_check; PostgreSQL's amcheck on every index), the
audit chain verifies, no assessment is half-saved (its sealed content opens, its lock version
is one more than the changes the audit log records for it, its state matches its content,
signature hash and decisions), every case and assessment has its create entry, every approval
its approve entry with the content hash, no data key is orphaned, and nothing a person was told
had been done is missing. Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import http.client
import itertools
import os
import random
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from riskassess.accounts import services as accounts
from riskassess.accounts.models import User
from riskassess.accounts.passwords import Passwords
from riskassess.assessments.content import submission_problems
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.assessments.services import content_hash, open_content
from riskassess.cases.models import Case
from riskassess.core import migrate
from riskassess.core.audit import AuditEntry, verify_chain
from riskassess.core.crypto import Keyring
from riskassess.core.db import make_engine
from riskassess.core.installation import InstallationSetting
from riskassess.core.keys import DataKey, Vault
from riskassess.instruments.definition import Instrument
from riskassess.reports import facts
from riskassess.reports.models import AssessmentFact, FactBatch
from tests.conftest import PASSWORD, TEST_ACTOR, claim_database, skip_or_fail
from tests.integration.served import RECORD_PAGES, Browser, StepFailed, savry
from tests.integration.test_serve import START_SECONDS, Live, _environment, _free_port, _serve

KILLS = 10
PAUSE = (0.3, 1.5)  # seconds of work between a restart and the next kill
CHANGES = ("update", "submit", "return", "approve")
DOWN = (OSError, http.client.HTTPException)  # refused, reset, cut off mid-answer

pytestmark = pytest.mark.crash


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own; on PostgreSQL a whole database, so that the amcheck
    extension can be created in it without touching anyone else's."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.sqlite'}"
        migrate.upgrade(url)
        claim_database(url)
        yield url
        return
    base = os.environ.get("RISKASSESS_TEST_POSTGRES_URL")
    if not base:
        skip_or_fail("RISKASSESS_TEST_POSTGRES_URL is not set")
        return
    name = "ra_crash_" + secrets.token_hex(4)
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        with psycopg.connect(
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        migrate.upgrade(url)
        claim_database(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Server:
    """`riskassess serve` in a process group of its own, so one SIGKILL takes the master and
    every worker at once, as a power cut or the OOM killer of a container would."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                _serve(self.port), env=self.env, stdout=sink, stderr=sink, start_new_session=True
            )
        probe = Live(self.port, self.process, self.log)
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            with suppress(*DOWN):
                if probe.request("GET", "/healthz").status == 200:
                    break
            assert time.monotonic() < deadline, "the server did not come back"
            time.sleep(0.1)
        self.up.set()

    def kill(self) -> None:
        assert self.process is not None
        self.up.clear()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class Work:
    """What the people were told was done, and what got in their way."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.told: Counter[str] = Counter()
        self.cut_off = 0  # requests the kill interrupted (not refused while down)
        self.submitted: set[str] = set()  # answered "submitted" (or "already submitted")
        self.approved: set[str] = set()
        self.errors: list[str] = []

    def note(self, what: str, assessment_id: str | None = None) -> None:
        with self.lock:
            self.told[what] += 1
            if what == "submit" and assessment_id:
                self.submitted.add(assessment_id)
            if what == "approve" and assessment_id:
                self.approved.add(assessment_id)


def _persist(work: Work, server: Server, step: Callable[[], object]) -> object:
    """Run a step until it gets an answer: while the server is down, wait and try again."""
    while not work.stop.is_set():
        server.up.wait(30)
        try:
            return step()
        except DOWN as exc:
            with work.lock:
                work.cut_off += not isinstance(exc, ConnectionRefusedError)
            time.sleep(0.05)
    raise InterruptedError


def _caseworker(browser: Browser, server: Server, work: Work, first_serial: int) -> None:
    instrument = savry()
    serials = itertools.count(first_serial)  # a retried case is another person
    while not work.stop.is_set():
        case_id = str(_persist(work, server, lambda: browser.create_case(next(serials))))
        try:
            assessment_id = str(browser.start(case_id))
        except DOWN:
            continue  # perhaps started, perhaps not: the next case is as good
        _complete(browser, server, work, instrument, assessment_id)


def _complete(
    browser: Browser, server: Server, work: Work, instrument: Instrument, assessment_id: str
) -> None:
    """The case record, every section, the judgement, and submitting: each step retried
    until answered."""
    for page in RECORD_PAGES:
        answer = _persist(work, server, lambda p=page: browser.save_record_page(assessment_id, p))
        _expect(answer, page)
        work.note("update")
    for index in range(len(instrument.domains)):
        answer = _persist(
            work, server, lambda i=index: browser.save_section(assessment_id, instrument, i)
        )
        _expect(answer, f"section {index}")
        work.note("update")
    _expect(_persist(work, server, lambda: browser.save_judgement(assessment_id)), "judgement")
    work.note("update")
    _expect(_persist(work, server, lambda: browser.submit(assessment_id)), "submit")
    work.note("submit", assessment_id)


def _supervisor(browser: Browser, server: Server, work: Work) -> None:
    while not work.stop.is_set():
        waiting = _persist(work, server, browser.queue)
        assert isinstance(waiting, list)
        for assessment_id in waiting:
            answer = _persist(work, server, lambda a=assessment_id: browser.review(a, "approve"))
            _expect(answer, "approve")
            work.note("approve", assessment_id)
        time.sleep(0.05)


def _expect(answer: object, what: str) -> None:
    status = getattr(answer, "status", None)
    if status != 302:
        raise StepFailed(f"{what}: {status}")


def _guarded(work: Work, target: Callable[..., None], *args: object) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        except InterruptedError:
            return
        except BaseException as exc:  # reported by the test
            with work.lock:
                work.errors.append(f"{target.__name__}: {exc!r}")
            work.stop.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _integrity(session: Session, url: str) -> str:
    """The database's own checks of its files and indexes; returns what was checked."""
    if url.startswith("sqlite"):
        assert session.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
        assert session.execute(text("PRAGMA foreign_key_check")).all() == []
        return "integrity_check, foreign_key_check"
    # bt_index_check raises on any corruption of an index or of its table's rows.
    checked = session.execute(
        text(
            "SELECT count(bt_index_check(c.oid, true)) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam "
            "WHERE n.nspname = 'public' AND a.amname = 'btree'"
        )
    ).scalar_one()
    assert checked > 10
    return f"amcheck on {checked} indexes"


def _actions(session: Session, object_id: str) -> Counter[str]:
    found = session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == object_id))
    return Counter(found)


def check_database(url: str, vault: Vault, instrument: Instrument, work: Work) -> Counter[str]:
    """Everything a crash must not break; returns the number of assessments by state."""
    engine = make_engine(url)
    states: Counter[str] = Counter()
    try:
        with Session(engine) as session:
            _integrity(session, url)
            assert verify_chain(session).ok
            cases = {case.id: case for case in session.scalars(select(Case))}
            for case in cases.values():
                assert _actions(session, str(case.id))["case:case:create"] == 1
            keys = set(session.scalars(select(DataKey.id)))
            users = set(session.scalars(select(User.mfa_key_id)))
            statistics = {
                uuid.UUID(value)
                for value in session.scalars(
                    select(InstallationSetting.value).where(
                        InstallationSetting.key == facts.STATISTICS_KEY
                    )
                )
            }
            owned = {case.data_key_id for case in cases.values()} | (users - {None})
            assert keys == owned | statistics
            # Every approval wrote its fact for follow-up statistics in the same transaction.
            assert facts.missing_facts(session) == []
            # ... into its month's batch, and no approval's batch change lost another's.
            counted = {f.assessment_id: f.batch_id for f in session.scalars(select(AssessmentFact))}
            batched: dict[uuid.UUID, uuid.UUID] = {}
            for batch in session.scalars(select(FactBatch)):
                value = vault.open_json(
                    session, batch.key_id, batch.sealed, "fact_batch", "sealed", batch.id
                )
                batched |= {uuid.UUID(k): batch.id for k in value["facts"]}
            assert batched == counted
            with work.lock:
                submitted, approved = set(work.submitted), set(work.approved)
            for row in session.scalars(select(Assessment)):
                states[row.state] += 1
                seen = _actions(session, str(row.id))
                assert seen["case:assessment:create"] == 1, row.id
                changes = sum(seen[f"case:assessment:{verb}"] for verb in CHANGES)
                assert row.lock_version == 1 + changes, (row.id, row.lock_version, seen)
                content = open_content(session, vault, cases[row.case_id], row)
                complete = not submission_problems(instrument, content)
                decisions = list(
                    session.scalars(
                        select(ReviewDecision.decision).where(
                            ReviewDecision.assessment_id == row.id
                        )
                    )
                )
                if row.state == "draft":
                    assert str(row.id) not in submitted
                    assert (
                        row.content_hash is None
                        and decisions == []
                        and not seen["case:assessment:submit"]
                    )
                elif row.state == "submitted":
                    assert complete and seen["case:assessment:submit"] == 1
                    assert str(row.id) not in approved and decisions == []
                else:
                    assert row.state == "approved", row.state
                    assert complete and seen["case:assessment:submit"] == 1
                    assert decisions == ["approve"] and row.decided_by_id is not None
                    assert row.content_hash == content_hash(content)
                    approval = session.scalars(
                        select(AuditEntry.body).where(
                            AuditEntry.object_id == str(row.id),
                            AuditEntry.action == "case:assessment:approve",
                        )
                    ).one()
                    assert row.content_hash in approval
            states_of = {str(row.id): row.state for row in session.scalars(select(Assessment))}
            assert submitted <= set(states_of)  # told it was done: it is there
            assert all(states_of[a] == "approved" for a in approved)
            assert session.scalar(select(func.count()).select_from(AuditEntry))
    finally:
        engine.dispose()
    return states


def _people(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        unit = accounts.create_unit(session, TEST_ACTOR, "nord", "Testenhet nord")
        for name, role in (("cw.0", "caseworker"), ("cw.1", "caseworker"), ("sup.0", "supervisor")):
            accounts.create_user(
                session,
                Passwords(time_cost=1, memory_kib=64),
                TEST_ACTOR,
                username=name,
                display_name=f"Test {name}",
                password=PASSWORD,
                role=role,
                unit=unit,
            )
        session.commit()
    engine.dispose()


def test_killed_again_and_again_while_saving_and_approving(
    crash_database: str, keyring_path: Path, tmp_path: Path
) -> None:
    began = time.monotonic()
    _people(crash_database)
    instrument = savry()
    vault = Vault(Keyring.load(keyring_path))
    port = _free_port()
    env = _environment(
        crash_database, keyring_path, tmp_path, RISKASSESS_WORKERS="2", RISKASSESS_THREADS="2"
    )
    server = Server(env, port, tmp_path / "serve.log")
    work = Work()
    server.start()
    threads: list[threading.Thread] = []
    chance = random.Random()  # noqa: S311 - kill moments, not secrets  # nosec B311
    try:
        live = Live(port, server.process, server.log)  # type: ignore[arg-type]
        browsers = [Browser([live]) for _ in range(3)]
        for browser, name in zip(browsers, ("cw.0", "cw.1", "sup.0"), strict=True):
            browser.login(name)  # sessions are in the database: they outlive the kills
        threads = [
            _guarded(work, _caseworker, browsers[0], server, work, 0),
            _guarded(work, _caseworker, browsers[1], server, work, 500),
            _guarded(work, _supervisor, browsers[2], server, work),
        ]
        kills = 0
        for _ in range(KILLS):
            time.sleep(chance.uniform(*PAUSE))
            if work.errors:
                break
            server.kill()
            kills += 1
            check_database(crash_database, vault, instrument, work)
            server.start()
        time.sleep(PAUSE[1])
    finally:
        work.stop.set()
        server.up.set()  # nobody waits for a server that is not coming
        for thread in threads:
            thread.join(30)
        server.stop()
    assert not work.errors, work.errors
    states = check_database(crash_database, vault, instrument, work)
    statuses: Counter[int] = Counter()
    for browser in browsers:
        statuses.update(browser.statuses)
    assert set(statuses) <= {200, 302}, statuses
    assert kills == KILLS
    assert work.told["approve"] > 0 and states["approved"] > 0
    took = time.monotonic() - began
    kind = "sqlite" if crash_database.startswith("sqlite") else "postgresql"
    print(  # the figures of the run, shown with pytest -s
        f"\ncrash ({kind}): {kills} kills, {sum(statuses.values())} answered requests "
        f"{dict(statuses)}, {work.cut_off} cut off by a kill, told {dict(work.told)}, "
        f"assessments {dict(states)}, {took:.1f}s"
    )
    assert took < 120
