"""Server-side sessions, in the database and in Redis: the cookie is a random id, logout and
"log out everywhere" end the session for good, a session ends when idle or too old, login
starts a new one, and role changes or a disabled account count from the next request."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from flask.sessions import session_json_serializer
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from riskassess.accounts.models import LoginSession, User
from riskassess.accounts.sessions import (
    MAX_FLASHES,
    DatabaseSessionStore,
    SessionStore,
    key_hash,
)
from riskassess.app import create_app
from riskassess.cli import main
from riskassess.config import ConfigError, load_settings
from riskassess.core.audit import AuditEntry
from riskassess.core.db import utcnow
from tests.conftest import PASSWORD, World, csrf, make_settings, skip_or_fail

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["database", "redis"])
def store_app(
    request: pytest.FixtureRequest, database_url: str, keyring_path: Path, app: Flask
) -> Iterator[Flask]:
    """The app with its sessions in the database, or in Redis under a prefix of its own."""
    overrides: dict[str, str] = {}
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.ping()
        except redis.exceptions.ConnectionError:
            skip_or_fail(f"no Redis at {REDIS_URL}")
        overrides = {"redis_url": REDIS_URL, "redis_prefix": f"ra-test-{secrets.token_hex(4)}:"}
    flask_app = create_app(make_settings(database_url, keyring_path, **overrides))
    yield flask_app
    if request.param == "redis":
        for key in client.scan_iter(f"{overrides['redis_prefix']}*"):
            client.delete(key)
    flask_app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def _store(flask_app: Flask) -> SessionStore:
    store: SessionStore = flask_app.extensions["riskassess"].sessions
    return store


def _login(flask_app: Flask, username: str = "cw.north") -> FlaskClient:
    client = flask_app.test_client()
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")},
    )
    assert response.status_code == 302
    return client


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _logged_in(client: FlaskClient) -> bool:
    response = client.get("/cases")
    return response.status_code == 200


@pytest.fixture
def users(world: World) -> None:
    unit = world.unit("nord")
    world.user("cw.north", "caseworker", unit)


@pytest.mark.usefixtures("users")
def test_a_copied_cookie_is_worthless_after_logout(store_app: Flask) -> None:
    owner = _login(store_app)
    stolen = _cookie(owner)
    thief = store_app.test_client()
    thief.set_cookie("session", stolen)
    assert _logged_in(thief)  # the same session, while it lasts
    owner.post("/logout", data={"csrf_token": csrf(owner, "/instruments")})
    assert not _logged_in(owner)
    assert not _logged_in(thief)
    assert _store(store_app).load(key_hash(stolen)) is None
    # The thief's next visit got a new, anonymous session under a new id (it remembers only
    # the page asked for), never the copied one.
    assert _cookie(thief) != stolen
    fresh = _store(store_app).load(key_hash(_cookie(thief)))
    assert fresh is not None and fresh.user_id is None


@pytest.mark.usefixtures("users")
def test_login_starts_a_new_session_under_a_new_id(store_app: Flask) -> None:
    client = store_app.test_client()
    client.get("/login")  # an anonymous session holds the login form's CSRF token
    before = _cookie(client)
    response = client.post(
        "/login",
        data={"username": "cw.north", "password": PASSWORD, "csrf_token": csrf(client, "/login")},
    )
    assert response.status_code == 302
    after = _cookie(client)
    assert after != before
    assert _store(store_app).load(key_hash(before)) is None
    assert _store(store_app).load(key_hash(after)) is not None


@pytest.mark.usefixtures("users")
def test_the_cookie_holds_only_a_random_id_and_the_store_only_its_hash(
    store_app: Flask, db: Session
) -> None:
    client = _login(store_app)
    value = _cookie(client)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)  # 32 random bytes, nothing signed or encoded
    stored = _store(store_app).load(hashlib.sha256(value.encode()).hexdigest())
    assert stored is not None and stored.user_id is not None
    if store_app.extensions["riskassess"].settings.redis_url is None:
        db.rollback()
        keys = db.scalars(select(LoginSession.key_hash)).all()
        assert value not in keys and key_hash(value) in keys


@pytest.mark.usefixtures("users")
def test_only_the_newest_waiting_messages_are_kept(store_app: Flask) -> None:
    """A client that never reads the page after a save does not grow its session without end."""
    client = _login(store_app)
    with client.session_transaction() as session:
        session["_flashes"] = [("success", f"message {n}") for n in range(MAX_FLASHES + 5)]
    stored = _store(store_app).load(key_hash(_cookie(client)))
    assert stored is not None
    kept = session_json_serializer.loads(stored.data)["_flashes"]
    assert kept == [("success", f"message {n}") for n in range(5, MAX_FLASHES + 5)]
    page = client.get("/cases").get_data(as_text=True)  # the next page shows them, once
    assert "message 4<" not in page and f"message {MAX_FLASHES + 4}<" in page
    assert f"message {MAX_FLASHES + 4}<" not in client.get("/cases").get_data(as_text=True)


def _age(store_app: Flask, client: FlaskClient, *, idle: timedelta, age: timedelta) -> None:
    store = _store(store_app)
    key = key_hash(_cookie(client))
    stored = store.load(key)
    assert stored is not None
    now = utcnow()
    store.save(key, replace(stored, created_dt=now - age, last_seen_dt=now - idle), timedelta(1))


@pytest.mark.usefixtures("users")
@pytest.mark.parametrize(
    ("idle", "age", "still_in"),
    [
        (timedelta(minutes=14), timedelta(hours=11), True),
        (timedelta(minutes=16), timedelta(minutes=20), False),  # idle for more than 15 minutes
        (timedelta(minutes=1), timedelta(hours=12, minutes=1), False),  # busy, but past 12 hours
    ],
)
def test_a_session_ends_when_idle_or_too_old(
    store_app: Flask, idle: timedelta, age: timedelta, still_in: bool
) -> None:
    client = _login(store_app)
    _age(store_app, client, idle=idle, age=age)
    assert _logged_in(client) is still_in


@pytest.mark.usefixtures("users")
def test_log_out_everywhere_ends_every_session_of_the_user(store_app: Flask, db: Session) -> None:
    laptop, phone = _login(store_app), _login(store_app)
    response = laptop.post("/logout/everywhere", data={"csrf_token": csrf(laptop, "/instruments")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "Du är utloggad på alla enheter (2 sessioner)." in laptop.get("/login").get_data(
        as_text=True
    )
    assert not _logged_in(laptop) and not _logged_in(phone)
    db.rollback()
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "account:session:revoke"))
    assert entry is not None and '"sessions":2' in entry.body.replace(" ", "")


@pytest.mark.usefixtures("users")
def test_an_administrator_ends_a_users_sessions_from_the_command_line(
    store_app: Flask, database_url: str, keyring_path: Path
) -> None:
    client = _login(store_app)
    settings = store_app.extensions["riskassess"].settings
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
        "RISKASSESS_REDIS_URL": settings.redis_url or "",
        "RISKASSESS_REDIS_PREFIX": settings.redis_prefix,
    }
    result = CliRunner().invoke(main, ["users", "end-sessions", "cw.north"], env=env)
    assert result.exit_code == 0, result.output
    assert "Ended 1 session(s) of cw.north." in result.output
    assert not _logged_in(client)
    unknown = CliRunner().invoke(main, ["users", "end-sessions", "nobody"], env=env)
    assert unknown.exit_code == 1 and "No user 'nobody'" in unknown.output


@pytest.mark.usefixtures("users")
def test_role_changes_and_disabling_count_from_the_next_request(
    store_app: Flask, db: Session
) -> None:
    client = _login(store_app)
    assert _logged_in(client)
    db.execute(update(User).where(User.username == "cw.north").values(role="trainer"))
    db.commit()
    assert client.get("/cases").status_code == 403
    db.execute(update(User).where(User.username == "cw.north").values(is_enabled=False))
    db.commit()
    response = client.get("/instruments")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RISKASSESS_SESSION_IDLE_MINUTES", "0"),
        ("RISKASSESS_SESSION_IDLE_MINUTES", "a while"),
        ("RISKASSESS_SESSION_MAX_HOURS", "1000"),
    ],
)
def test_session_times_are_checked_at_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


class CountingStore:
    """A session store that counts what is asked of it."""

    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


@pytest.mark.usefixtures("users")
@pytest.mark.parametrize("path", ["/static/style.css", "/healthz", "/readyz"])
def test_static_files_and_health_checks_leave_the_session_store_alone(
    store_app: Flask, path: str
) -> None:
    client = _login(store_app)
    before = _cookie(client)
    interface = store_app.session_interface
    counting = CountingStore(interface.store)  # type: ignore[attr-defined]
    interface.store = counting  # type: ignore[attr-defined]
    try:
        response = client.get(path)
        response.close()
        anonymous = store_app.test_client().get(path)
        anonymous.close()
        assert counting.calls == []  # not even a load for the logged-in user's cookie
        client.get("/instruments")
        assert counting.calls[:1] == ["load"]  # a page does load it (the counter counts)
    finally:
        interface.store = counting.inner  # type: ignore[attr-defined]
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert anonymous.status_code == 200 and "Set-Cookie" not in anonymous.headers
    assert _cookie(client) == before and _logged_in(client)


@pytest.mark.usefixtures("users")
def test_the_database_store_reads_the_user_with_the_session(store_app: Flask) -> None:
    """With sessions in the database, a logged-in request reads its user and unit in the
    session's own statement: no query of its own for the user (Redis still needs one)."""
    client = _login(store_app)
    engine = store_app.extensions["riskassess"].session_factory.kw["bind"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/instruments").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    own_user_reads = [s for s in seen if s.startswith("SELECT user_account.id")]
    in_session_read = [s for s in seen if "FROM login_session" in s and "user_account" in s]
    if isinstance(_store(store_app), DatabaseSessionStore):
        assert own_user_reads == [] and len(in_session_read) == 1
    else:
        assert len(own_user_reads) == 1
