"""`riskassess users create` refuses a password that is short, common, or built from the
account's own name, and creates nothing then."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit, User
from riskassess.accounts.passwords import new_password_problem
from riskassess.cli import main
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import PASSWORD, World, csrf

pytestmark = pytest.mark.usefixtures("app")


def _create(database_url: str, keyring_path: Path, password: str) -> Result:
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
    }
    args = ["users", "create", "anna.andersson", "--name", "Anna Andersson", "--role", "auditor"]
    return CliRunner().invoke(main, args, env=env, input=password + "\n")


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("kort-lösen", "at least 12 characters"),
        ("Password123!", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("anna.andersson1", "too easy to guess"),  # the username with a digit
    ],
)
def test_a_weak_password_creates_no_account(
    database_url: str, keyring_path: Path, db: Session, password: str, why: str
) -> None:
    result = _create(database_url, keyring_path, password)
    assert result.exit_code == 1 and why in result.output and "Nothing was created" in result.output
    db.rollback()
    assert db.scalar(select(User).where(User.username == "anna.andersson")) is None


def test_a_strong_password_creates_the_account(
    database_url: str, keyring_path: Path, db: Session
) -> None:
    result = _create(database_url, keyring_path, "kvittrande-blåbär-ladugård")
    assert result.exit_code == 0, result.output
    db.rollback()
    assert db.scalar(select(User).where(User.username == "anna.andersson")) is not None


def test_the_limits() -> None:
    assert new_password_problem("x" * 201) is not None
    assert new_password_problem("tyst-lingon-vandrar-norrut") is None


@pytest.fixture
def admin(database_url: str, keyring_path: Path) -> Callable[..., Result]:
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
    }

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["users", *args], env=env)

    return run


def _logs_in(app: Flask, username: str) -> bool:
    client = app.test_client()
    form = {"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")}
    return client.post("/login", data=form).status_code == 302


def _updates(db: Session) -> list[dict[str, Any]]:
    db.rollback()
    bodies = db.scalars(
        select(AuditEntry.body)
        .where(AuditEntry.action == "admin:user:update")
        .order_by(AuditEntry.seq)
    )
    return [entry_fields(body)["details"] for body in bodies]


def test_disable_enable_and_expiry_decide_who_can_log_in(
    app: Flask, world: World, db: Session, admin: Callable[..., Result]
) -> None:
    world.user("cw.north", "caseworker", world.unit("nord"))
    session = app.test_client()
    form = {"username": "cw.north", "password": PASSWORD, "csrf_token": csrf(session, "/login")}
    assert session.post("/login", data=form).status_code == 302

    assert admin("disable", "cw.north").exit_code == 0
    assert session.get("/cases").status_code == 302  # the open session stops at once
    assert not _logs_in(app, "cw.north")
    assert admin("enable", "cw.north").exit_code == 0
    assert _logs_in(app, "cw.north")

    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert admin("set-expiry", "cw.north", "--last-day", yesterday).exit_code == 0
    assert not _logs_in(app, "cw.north")
    assert "EXPIRED" in admin("list").output
    assert admin("set-expiry", "cw.north", "--never").exit_code == 0
    assert _logs_in(app, "cw.north")
    assert admin("set-expiry", "cw.north").exit_code == 1  # neither a day nor --never

    assert _updates(db) == [
        {"enabled": [True, False]},
        {"enabled": [False, True]},
        {"expires_on": [None, yesterday]},
        {"expires_on": [yesterday, None]},
    ]


def test_role_and_unit_changes_are_audited_before_and_after(
    world: World, db: Session, admin: Callable[..., Result]
) -> None:
    north, south = world.unit("nord"), world.unit("syd")
    world.user("cw.north", "caseworker", north)
    result = admin("set-role", "cw.north", "--role", "supervisor", "--unit", "syd")
    assert result.exit_code == 0, result.output
    assert _updates(db) == [
        {"role": ["caseworker", "supervisor"], "unit": [str(north.id), str(south.id)]}
    ]
    assert admin("set-role", "cw.north", "--role", "caseworker").exit_code == 1  # no unit
    unknown = admin("set-role", "cw.north", "--role", "caseworker", "--unit", "väst")
    assert unknown.exit_code == 1 and "No unit with code 'väst'" in unknown.output
    assert admin("set-role", "nobody", "--role", "auditor").exit_code == 1


def test_a_unit_is_renamed_and_retired_only_when_empty(
    world: World, db: Session, admin: Callable[..., Result]
) -> None:
    north = world.unit("nord")
    world.user("cw.north", "caseworker", north)
    assert admin("rename-unit", "nord", "Enhet Norr").exit_code == 0
    refused = admin("retire-unit", "nord")
    assert refused.exit_code == 1 and "still has active users" in refused.output
    assert admin("set-role", "cw.north", "--role", "auditor").exit_code == 0
    assert admin("retire-unit", "nord").exit_code == 0
    moved_back = admin("set-role", "cw.north", "--role", "caseworker", "--unit", "nord")
    assert moved_back.exit_code == 1 and "retired" in moved_back.output
    db.rollback()
    unit = db.scalar(select(Unit).where(Unit.code == "nord"))
    assert unit is not None and unit.name == "Enhet Norr" and unit.retired_dt is not None
    actions = db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(unit.id)))
    assert {"admin:unit:rename", "admin:unit:retire"} <= set(actions)


def _redeem(client: FlaskClient, code: str, password: str, repeat: str | None = None) -> str:
    response = client.post(
        "/password/reset",
        data={
            "username": "cw.north",
            "code": code,
            "password": password,
            "repeat": password if repeat is None else repeat,
            "csrf_token": csrf(client, "/password/reset"),
        },
        follow_redirects=True,
    )
    return response.get_data(as_text=True)


def test_a_reset_code_sets_a_new_password_once(
    app: Flask, world: World, db: Session, admin: Callable[..., Result]
) -> None:
    world.user("cw.north", "caseworker", world.unit("nord"))
    open_session = app.test_client()
    form = {
        "username": "cw.north",
        "password": PASSWORD,
        "csrf_token": csrf(open_session, "/login"),
    }
    assert open_session.post("/login", data=form).status_code == 302
    issued = admin("reset-password", "cw.north")
    assert issued.exit_code == 0, issued.output
    code = re.search(r"^  ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})$", issued.output, re.M)
    assert code is not None
    client = app.test_client()
    new = "tyst-lingon-vandrar-norrut"

    assert "Lösenorden skiljer sig åt" in _redeem(client, code[1], new, repeat=new + "x")
    assert "för lätt att gissa" in _redeem(client, code[1], "Password123!")
    assert "Användarnamnet eller koden är fel" in _redeem(client, "ABCD-EFGH-JKLM", new)
    page = _redeem(client, code[1].lower().replace("-", " "), new)  # as read over the phone
    assert "Ditt lösenord är bytt" in page
    assert open_session.get("/cases").status_code == 302  # every old session ended
    assert "Användarnamnet eller koden är fel" in _redeem(client, code[1], new + "-igen")
    assert not _logs_in(app, "cw.north")  # the old password
    login = app.test_client()
    form = {"username": "cw.north", "password": new, "csrf_token": csrf(login, "/login")}
    assert login.post("/login", data=form).status_code == 302

    db.rollback()
    bodies = " ".join(db.scalars(select(AuditEntry.body)))
    assert code[1] not in bodies and new not in bodies
    actions = set(db.scalars(select(AuditEntry.action)))
    assert {"admin:user:reset", "account:password:reset"} <= actions


def test_an_expired_reset_code_is_refused(
    app: Flask, world: World, db: Session, admin: Callable[..., Result]
) -> None:
    world.user("cw.north", "caseworker", world.unit("nord"))
    code = re.search(
        r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", admin("reset-password", "cw.north").output
    )
    assert code is not None
    db.execute(
        update(User)
        .where(User.username == "cw.north")
        .values(reset_expires_dt=datetime.now(UTC) - timedelta(minutes=1))
    )
    db.commit()
    page = _redeem(app.test_client(), code[1], "tyst-lingon-vandrar-norrut")
    assert "Användarnamnet eller koden är fel, eller så har koden gått ut." in page
