"""Password guessing is throttled: failed logins per account and per address, wrong signing
passwords per supervisor. Only failures count; a refused attempt is audited; an administrator
can unlock an account (with Redis, where several servers share the counts)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import redis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.accounts.throttle import unlock_account
from riskassess.app import create_app
from riskassess.cli import main
from riskassess.core.audit import AuditEntry
from tests.conftest import PASSWORD, World, csrf, make_settings, skip_or_fail
from tests.security.test_authorization_matrix import _arrange

THROTTLED = "För många misslyckade försök"
WRONG = "Fel användarnamn eller lösenord."


def _try(client: FlaskClient, username: str, password: str) -> tuple[int, str]:
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client, "/login")},
    )
    return response.status_code, response.get_data(as_text=True)


def _throttled_entries(db: Session) -> list[AuditEntry]:
    db.rollback()
    denied = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied"))
    return [e for e in denied if '"throttled":true' in e.body.replace(" ", "")]


def test_the_sixth_failed_login_of_an_account_is_refused_even_with_the_right_password(
    app: Flask, world: World, db: Session
) -> None:
    _arrange(world)
    client = app.test_client()
    for _ in range(5):
        status, page = _try(client, "cw.north", "wrong-password-1")
        assert status == 200 and WRONG in page
    status, page = _try(client, "cw.north", PASSWORD)
    assert status == 429 and THROTTLED in page
    assert _throttled_entries(db), "the refused attempt is audited"
    # Another account from the same address is not held up by this one's failures.
    assert _try(app.test_client(), "sup.north", PASSWORD)[0] == 302
    # The unlock forgets the failures: the right password works at once.
    owner = db.scalar(select(User).where(User.username == "cw.north"))
    assert owner is not None
    with app.app_context():
        unlock_account("cw.north", owner.id)
    assert _try(client, "cw.north", PASSWORD)[0] == 302


def test_successful_logins_are_never_throttled(app: Flask, world: World) -> None:
    _arrange(world)
    for _ in range(12):
        client = app.test_client()
        assert _try(client, "cw.north", PASSWORD)[0] == 302


def test_an_unknown_username_is_throttled_like_a_known_one(app: Flask, world: World) -> None:
    _arrange(world)
    client = app.test_client()
    for _ in range(5):
        assert _try(client, "nobody.here", "whatever-it-is")[1].count(WRONG) == 1
    assert _try(client, "nobody.here", "whatever-it-is")[0] == 429


def test_wrong_signing_passwords_are_throttled_per_supervisor(
    app: Flask, world: World, db: Session, login: Callable[[str], None], client: FlaskClient
) -> None:
    ids = _arrange(world)
    login("sup.north")
    path = f"/assessments/{ids['submitted']}"

    def approve(password: str) -> int:
        response = client.post(
            f"{path}/review",
            data={
                "csrf_token": csrf(client, path),
                "decision": "approve",
                "comment": "",
                "password": password,
            },
        )
        return response.status_code

    # An empty password is no guess: it is answered beside the field and never counted.
    for _ in range(6):
        assert approve("") == 200
    # A wrong one shows the page again with the message beside the field, and counts.
    for _ in range(5):
        assert approve("not-my-password") == 200
    assert approve(PASSWORD) == 429
    db.rollback()
    assert db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "case:assessment:sign", AuditEntry.outcome == "denied"
        )
    )


def test_an_administrator_unlocks_an_account_from_the_command_line(
    database_url: str, keyring_path: Path, world: World, app: Flask
) -> None:
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        skip_or_fail(f"no Redis at {url}")
    _arrange(world)
    prefix = f"ra-test-{secrets.token_hex(4)}:"
    shared = create_app(
        make_settings(database_url, keyring_path, redis_url=url, redis_prefix=prefix)
    )
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
        "RISKASSESS_SECRET_KEY": secrets.token_urlsafe(32),
        "RISKASSESS_REDIS_URL": url,
        "RISKASSESS_REDIS_PREFIX": prefix,
    }
    try:
        client = shared.test_client()
        for _ in range(5):
            _try(client, "cw.north", "wrong-password-2")
        assert _try(client, "cw.north", PASSWORD)[0] == 429
        result = CliRunner().invoke(main, ["users", "unlock", "cw.north"], env=env)
        assert result.exit_code == 0, result.output
        assert _try(client, "cw.north", PASSWORD)[0] == 302
        without_redis = {k: v for k, v in env.items() if not k.startswith("RISKASSESS_REDIS")}
        refused = CliRunner().invoke(main, ["users", "unlock", "cw.north"], env=without_redis)
        assert refused.exit_code == 1 and "Nothing was changed" in refused.output
    finally:
        shared.extensions["riskassess"].session_factory.kw["bind"].dispose()
