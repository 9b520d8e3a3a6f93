"""Shared fixtures: a migrated database (SQLite always, PostgreSQL when
RISKASSESS_TEST_POSTGRES_URL is set), a keyring, the app, and small factories.

Integration tests depend on `app`, which is parametrized over the databases, so the same
suite runs on both. Each test starts from empty tables.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, delete, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from riskassess.accounts import services as accounts
from riskassess.accounts.models import Unit, User
from riskassess.accounts.passwords import Passwords
from riskassess.accounts.throttle import limiter
from riskassess.app import create_app
from riskassess.assessments.models import Assessment
from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.cases.models import Case
from riskassess.config import Settings, load_settings
from riskassess.core import migrate
from riskassess.core.audit import Actor
from riskassess.core.crypto import Keyring
from riskassess.core.db import Base, make_engine, make_session_factory, transaction
from riskassess.core.installation import InstallationSetting, claim_mode
from riskassess.core.keys import Vault
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import InstrumentRegistry
from riskassess.training.seed import fictional_personnummer
from riskassess.web import AppState

PASSWORD = "correct-horse-battery"
REQUIRE_ALL = os.environ.get("RISKASSESS_REQUIRE_ALL_SUITES") == "1"
TEST_ACTOR = Actor.system("test-setup")


def skip_or_fail(reason: str) -> None:
    """Skip a suite that cannot run here; in CI (RISKASSESS_REQUIRE_ALL_SUITES=1) fail instead."""
    if REQUIRE_ALL:
        pytest.fail(f"required suite cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def keyring_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keyring.json"
    Keyring.generate().save_new(path)
    return path


def postgres_schema_url(base_url: str) -> tuple[str, str]:
    """A private schema per test run, so runs never see each other's rows."""
    schema = "ra_test_" + secrets.token_hex(4)
    url = make_url(base_url)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), schema


def drop_postgres_schema(base_url: str, schema: str) -> None:
    conninfo = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
        migrate.upgrade(url)
        claim_database(url)
        yield url
        return
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


def claim_database(url: str, mode: str = "production") -> None:
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        claim_mode(session, mode)
    engine.dispose()


def make_settings(database_url: str, keyring_path: Path, **overrides: Any) -> Settings:
    # Automatic checkpoints off: they would be written to the project's instance folder.
    base = load_settings({"RISKASSESS_AUDIT_CHECKPOINT_EVERY": "0"}, mode="production")
    return replace(
        base,
        database_url=database_url,
        keyring_path=keyring_path,
        secret_key="test-secret-" + "x" * 32,
        testing=True,
        password_time_cost=1,
        password_memory_kib=64,
        secure_cookies=False,
        # The login fixture logs in with a password; tests/integration/test_mfa.py turns the
        # second factor on and goes through it.
        **({"mfa_required": False} | overrides),
    )


@pytest.fixture(scope="session")
def app(database_url: str, keyring_path: Path) -> Iterator[Flask]:
    flask_app = create_app(make_settings(database_url, keyring_path))
    yield flask_app
    engine = _state(flask_app).session_factory.kw["bind"]
    engine.dispose()


@pytest.fixture(scope="session")
def arrange_engine(database_url: str) -> Iterator[Engine]:
    """The engine tests arrange and check with. On SQLite it uses pysqlite's own deferred
    transactions, so a test's reads never hold the write lock the app's requests need."""
    engine = (
        create_engine(database_url)
        if database_url.startswith("sqlite")
        else make_engine(database_url)
    )
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if limiter.initialized:
        limiter.reset()  # failed logins of one test must not throttle the next
    if "app" not in request.fixturenames:
        return
    flask_app: Flask = request.getfixturevalue("app")
    with transaction(_state(flask_app).session_factory) as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "installation_setting":
                session.execute(delete(table))
        # The database's mode stays; the statistics key's id goes with the key.
        session.execute(delete(InstallationSetting).where(InstallationSetting.key != "mode"))


def _state(flask_app: Flask) -> AppState:
    state: AppState = flask_app.extensions["riskassess"]
    return state


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class CheckingSession(Session):
    """A test session whose rollback always forgets what it loaded: SQLAlchemy skips the
    expiry when no transaction is open, and a check would then read its own stale copy."""

    def rollback(self) -> None:
        super().rollback()
        self.expire_all()


@pytest.fixture
def db(app: Flask, arrange_engine: Engine) -> Iterator[Session]:
    """A session for arranging and checking; commit what you arrange, and call
    `db.rollback()` before checking what a request changed (it ends the old snapshot)."""
    session = CheckingSession(arrange_engine, expire_on_commit=False)
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def vault(app: Flask) -> Vault:
    return Vault(_state(app).keyring)


@pytest.fixture
def passwords(app: Flask) -> Passwords:
    return _state(app).passwords


class World:
    """Factories for the usual cast: units, users of each role, cases."""

    def __init__(
        self, session: Session, vault: Vault, passwords: Passwords, registry: InstrumentRegistry
    ) -> None:
        self.session = session
        self.registry = registry
        self.vault = vault
        self.passwords = passwords
        self._serial = 9800

    def instrument_of_key(self, instrument_id: str, version: str) -> Instrument:
        found = self.registry.get(instrument_id, version)
        assert found is not None
        return found

    def instrument_of(self, assessment: Assessment) -> Instrument:
        """The exact instrument version an assessment was made with."""
        found = self.registry.get(assessment.instrument_id, assessment.instrument_version)
        assert found is not None
        return found

    def unit(self, code: str) -> Unit:
        unit = accounts.create_unit(self.session, TEST_ACTOR, code, f"Testenhet {code}")
        self.session.commit()
        return unit

    def user(self, username: str, role: str, unit: Unit | None) -> User:
        user = accounts.create_user(
            self.session,
            self.passwords,
            TEST_ACTOR,
            username=username,
            display_name=f"Test {username}",
            password=PASSWORD,
            role=role,
            unit=unit,
        )
        self.session.commit()
        return user

    def case(
        self, owner: User, name: str = "Testa Fiktivdotter", age: int = 15, sex: str = "female"
    ) -> Case:
        self._serial += 1
        today = date.today()
        # The 14th: born on the 5th, 15th or 25th, the case would be kept from gallring.
        born = date(today.year - age, 1, 14)
        # A number of its own for each case (one child, one case), whose sex digit (the
        # third of the serial) agrees with `sex`.
        serial = f"{self._serial % 100:02d}{2 if sex == 'female' else 1}"
        normalized, _ = normalize_personnummer(fictional_personnummer(born, serial))
        case = cases.create_case(
            self.session, self.vault, owner, cases.Identity(name, normalized, born, sex)
        )
        self.session.commit()
        return case


@pytest.fixture
def world(app: Flask, db: Session, vault: Vault, passwords: Passwords) -> World:
    return World(db, vault, passwords, _state(app).instruments)


@pytest.fixture
def login(client: FlaskClient) -> Callable[[str], None]:
    def do_login(username: str) -> None:
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    return do_login


def csrf(client: FlaskClient, path: str) -> str:
    """Fetch a page and return the CSRF token of its first form."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def new_uuid() -> str:
    return str(uuid.uuid4())


def lock_version(db: Session, assessment_id: str) -> int:
    from riskassess.assessments.models import Assessment

    db.rollback()
    # A column query, not db.get(): the identity map would answer from memory.
    found = db.scalar(
        select(Assessment.lock_version).where(Assessment.id == uuid.UUID(assessment_id))
    )
    assert found is not None
    return found


def rate_everything(
    client: FlaskClient,
    db: Session,
    registry: InstrumentRegistry,
    assessment_id: str,
    judgement: str = "moderate",
    risk_rating: str = "moderate",
) -> None:
    """Fill in every section of a SAVRY-style assessment through the web forms."""
    instrument = registry.get("savry-style", "1.0")
    assert instrument is not None
    fill_record(client, db, assessment_id)
    for domain in instrument.domains:
        path = f"/assessments/{assessment_id}/rate/{domain.code}"
        data = {
            "csrf_token": csrf(client, path),
            "lock_version": str(lock_version(db, assessment_id)),
        }
        for item in domain.items:
            data[f"rating_{item.code}"] = risk_rating if domain.kind == "risk" else "present"
            data[f"rationale_{item.code}"] = f"Fiktiv motivering {item.code}"
        response = client.post(path, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    path = f"/assessments/{assessment_id}/judgement"
    response = client.post(
        path,
        data={
            "csrf_token": csrf(client, path),
            "lock_version": str(lock_version(db, assessment_id)),
            "judgement_level": judgement,
            "judgement_reason": "Fiktiv sammanfattning",
            "risk_kind": "violence",
            "risk_months": "6",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]


def fill_record(client: FlaskClient, db: Session, assessment_id: str) -> None:
    """Fill in the case record's pages of an assessment through the web forms: the link to
    the investigation with one source, and the child's and a guardian's views."""
    day = date.today().isoformat()
    pages = {
        "investigation": {
            "phase": "investigation",
            "reference": "TEST 2026/0001",
            "assessed_on": day,
            "sources-0-kind": "child",
            "sources-0-on": day,
        },
        "voices": {
            "child_view": "Fiktiv syn",
            "child_how": "meeting",
            "child_heard_on": day,
            "guardians-0-who": "Vårdnadshavare 1",
            "guardians-0-view": "Fiktiv syn",
            "guardians-0-how": "home_visit",
            "guardians-0-heard_on": day,
        },
    }
    for page, fields in pages.items():
        path = f"/assessments/{assessment_id}/{page}"
        data = {
            "csrf_token": csrf(client, path),
            "lock_version": str(lock_version(db, assessment_id)),
        }
        response = client.post(path, data={**data, **fields})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]


# The enrolment page shows the authenticator key in groups of four, beside the QR code.
MFA_KEY_ON_PAGE = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')


def totp_code(key: str, at: float | None = None) -> str:
    """The six digits an authenticator app shows for `key` (as on the page) at time `at`."""
    import base64
    import time

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    secret = base64.b32decode(key.replace(" ", ""))
    hmac_sha1 = SHA1()  # noqa: S303 - RFC 6238's HMAC, not a bare digest  # nosec B303
    totp = TOTP(secret, 6, hmac_sha1, 30)
    return totp.generate(time.time() if at is None else at).decode()


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The demo as a trainer serves it (seeded, SQLite in its own instance folder), for the
    course session tests. Tests clean up their courses with `course_tables_emptied`."""
    flask_app = make_demo_app(tmp_path_factory.mktemp("demo"))
    yield flask_app
    _state(flask_app).session_factory.kw["bind"].dispose()


def make_demo_app(instance: Path) -> Flask:
    """A freshly seeded demo in `instance`; the caller disposes of its engine."""
    from riskassess.training.cli import prepare_demo

    settings = load_settings(
        {"RISKASSESS_INSTANCE_PATH": str(instance), "RISKASSESS_AUDIT_CHECKPOINT_EVERY": "0"},
        mode="demo",
    ).with_overrides(password_time_cost=1, password_memory_kib=64, testing=True)
    return create_app(prepare_demo(settings))


@pytest.fixture
def demo_db(demo_app: Flask) -> Iterator[Session]:
    """A session on the demo's database; the course tables are emptied after the test."""
    # pysqlite's own deferred transactions: a check's reads never hold the write lock.
    engine = create_engine(_state(demo_app).settings.database_url)
    session = CheckingSession(engine, expire_on_commit=False)
    yield session
    session.rollback()
    session.close()
    engine.dispose()
    from riskassess.training.models import CourseParticipant, CourseRating, CourseSession

    with transaction(_state(demo_app).session_factory) as cleaner:
        for model in (CourseRating, CourseParticipant, CourseSession):
            cleaner.execute(delete(model))


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads at the same moment and return their results in order; an
    exception in any of them is raised here, in the test's own thread."""
    import threading

    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # reported below, in the test's own thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
