"""Two-step login (TOTP and recovery codes): enrolment, the code step, replays and guesses
refused, an administrator's reset, and the choice the demo leaves to each user."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import RecoveryCode, User
from riskassess.app import create_app
from riskassess.cli import main
from riskassess.config import load_settings
from riskassess.core.audit import AuditEntry
from riskassess.core.keys import DataKey
from tests.conftest import MFA_KEY_ON_PAGE, PASSWORD, World, csrf, make_settings, totp_code

WRONG = "Koden är fel eller har redan använts"


@pytest.fixture
def strict_app(database_url: str, keyring_path: Path, app: Flask) -> Iterator[Flask]:
    """The app as production runs it: a second factor at every login."""
    flask_app = create_app(make_settings(database_url, keyring_path, mfa_required=True))
    yield flask_app
    flask_app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def _code(secret: str, at: float | None = None) -> str:
    return totp_code(secret, at)


def _password(client: FlaskClient, username: str) -> str:
    form = {"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")}
    response = client.post("/login", data=form)
    assert response.status_code == 302
    return response.headers["Location"]


def _post(client: FlaskClient, path: str, code: str, prefix: str = "") -> tuple[int, str]:
    token_page = path if "/login/" in path or path.endswith("/setup") else "/account/mfa"
    form = {f"{prefix}code": code, "csrf_token": csrf(client, token_page)}
    response = client.post(path, data=form)
    return response.status_code, response.get_data(as_text=True)


def _logged_in(client: FlaskClient) -> bool:
    return client.get("/instruments").status_code == 200


def _enrol(client: FlaskClient, setup_path: str) -> tuple[str, list[str]]:
    """Scan (read the key off the page), confirm with a code; returns the key and the codes."""
    page = client.get(setup_path).get_data(as_text=True)
    assert '<svg role="img" aria-label=' in page  # the QR code, inline
    found = MFA_KEY_ON_PAGE.search(page)
    assert found
    secret = found.group(1).replace(" ", "")
    assert found.group(1) in client.get(setup_path).get_data(as_text=True)  # same key on reload
    status, body = _post(client, setup_path, _code(secret))
    assert status == 200, body[:300]
    codes = re.findall(r"<li><code>([A-Z2-9]{5}-[A-Z2-9]{5})</code></li>", body)
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def _actions(db: Session) -> list[tuple[str, str]]:
    db.rollback()
    rows = db.execute(select(AuditEntry.action, AuditEntry.outcome).order_by(AuditEntry.seq))
    return [(action, outcome) for action, outcome in rows]


def test_settings_require_the_second_factor_in_production_only() -> None:
    assert load_settings({}, mode="production").mfa_required
    assert not load_settings({}, mode="demo").mfa_required


def test_a_first_login_sets_up_the_app_and_later_logins_ask_for_its_code(
    strict_app: Flask, world: World, db: Session
) -> None:
    world.user("cw.one", "caseworker", world.unit("nord"))
    client = strict_app.test_client()
    assert _password(client, "cw.one").endswith("/login/setup")
    assert not _logged_in(client), "a password alone logs no one in"

    status, body = _post(client, "/login/setup", "123456")
    assert status == 200 and WRONG in body and not _logged_in(client)
    secret, codes = _enrol(client, "/login/setup")
    assert _logged_in(client)

    db.rollback()
    stored = db.scalar(select(User).where(User.username == "cw.one"))
    assert stored is not None and stored.mfa_secret is not None
    assert secret.encode() not in stored.mfa_secret and stored.mfa_enrolled_dt is not None
    assert db.scalar(select(func.count()).select_from(RecoveryCode)) == 10
    assert all(len(h) == 64 for h in db.scalars(select(RecoveryCode.code_hash)))
    actions = _actions(db)
    assert ("account:mfa:begin", "success") in actions
    assert ("account:mfa:enrol", "success") in actions
    login = db.scalars(
        select(AuditEntry.body).where(
            AuditEntry.action == "account:session:login", AuditEntry.outcome == "success"
        )
    ).one()
    assert '"mfa":"totp"' in login.replace(" ", "")

    # The next login: the code the app shows now was used at enrolment and is refused; the
    # app's next code (one step later, within the allowed drift) is accepted.
    second = strict_app.test_client()
    assert _password(second, "cw.one").endswith("/login/code")
    assert _post(second, "/login/code", _code(secret))[0] == 200
    assert not _logged_in(second)
    assert _post(second, "/login/code", _code(secret, time.time() + 30))[0] == 302
    assert _logged_in(second)
    assert ("account:session:login", "failure") in _actions(db)

    # A recovery code works once, typed in any case and spacing.
    third = strict_app.test_client()
    _password(third, "cw.one")
    status = _post(third, "/login/code", " " + codes[0].lower().replace("-", " ") + " ")[0]
    assert status == 302 and _logged_in(third)
    assert "Oanvända reservkoder: 9." in third.get("/account/mfa").get_data(as_text=True)
    fourth = strict_app.test_client()
    _password(fourth, "cw.one")
    assert _post(fourth, "/login/code", codes[0])[0] == 200 and not _logged_in(fourth)


def test_guessing_codes_is_throttled_and_a_slow_login_starts_over(
    strict_app: Flask, world: World, db: Session
) -> None:
    world.user("cw.two", "caseworker", world.unit("nord"))
    client = strict_app.test_client()
    _password(client, "cw.two")
    secret, _codes = _enrol(client, "/login/setup")

    guesser = strict_app.test_client()
    _password(guesser, "cw.two")
    for guess in range(5):
        status, body = _post(guesser, "/login/code", f"{guess:06d}")
        assert status == 200 and WRONG in body
    assert _post(guesser, "/login/code", _code(secret, time.time() + 30))[0] == 429
    assert not _logged_in(guesser)

    # Five minutes between password and code is too long: the login starts over.
    slow = strict_app.test_client()
    _password(slow, "cw.two")
    with slow.session_transaction() as session:
        session["mfa_pending"] = session["mfa_pending"] | {"since": int(time.time()) - 301}
    response = slow.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    # Straight to the code page without a password: back to the login page.
    assert strict_app.test_client().get("/login/code").headers["Location"].endswith("/login")


def test_an_account_disabled_between_password_and_code_cannot_finish(
    strict_app: Flask, world: World, db: Session
) -> None:
    user = world.user("cw.three", "caseworker", world.unit("nord"))
    client = strict_app.test_client()
    _password(client, "cw.three")
    secret, _codes = _enrol(client, "/login/setup")
    other = strict_app.test_client()
    _password(other, "cw.three")
    stored = db.get(User, user.id)
    assert stored is not None
    stored.is_enabled = False
    db.commit()
    response = other.post(
        "/login/code",
        data={"code": _code(secret, time.time() + 30), "csrf_token": csrf(other, "/login")},
    )
    assert response.status_code == 302 and not _logged_in(other)


def test_an_administrator_resets_a_lost_phone(strict_app: Flask, world: World, db: Session) -> None:
    user = world.user("cw.four", "caseworker", world.unit("nord"))
    world.user("admin.one", "admin", None)
    client = strict_app.test_client()
    _password(client, "cw.four")
    _enrol(client, "/login/setup")
    admin = strict_app.test_client()
    _password(admin, "admin.one")
    _enrol(admin, "/login/setup")
    db.rollback()
    key_id = db.scalar(select(User.mfa_key_id).where(User.id == user.id))
    assert key_id is not None

    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Återställ tvåstegsinloggningen" in page
    form = {"csrf_token": csrf(admin, f"/admin/users/{user.id}")}
    assert admin.post(f"/admin/users/{user.id}/mfa", data=form).status_code == 302

    assert not _logged_in(client), "the user's sessions end"
    db.rollback()
    stored = db.get(User, user.id)
    assert stored is not None and not stored.has_mfa and stored.mfa_secret is None
    assert db.get(DataKey, key_id) is None, "the sealed key can never be opened again"
    assert db.scalar(select(func.count()).select_from(RecoveryCode)) == 10  # the admin's own
    reset = db.scalars(
        select(AuditEntry.body).where(AuditEntry.action == "admin:user:mfa_reset")
    ).one()
    assert '"before":"enrolled"' in reset.replace(" ", "")
    # The user sets up the app again at the next login.
    assert _password(strict_app.test_client(), "cw.four").endswith("/login/setup")

    # Not one's own: that would let a stolen admin password skip the second factor.
    admin_id = db.scalar(select(User.id).where(User.username == "admin.one"))
    form = {"csrf_token": csrf(admin, f"/admin/users/{admin_id}")}
    admin.post(f"/admin/users/{admin_id}/mfa", data=form)
    db.rollback()
    assert db.scalar(select(User.mfa_enrolled_dt).where(User.id == admin_id)) is not None


def test_where_optional_a_user_turns_it_on_renews_codes_and_turns_it_off(
    app: Flask, world: World, db: Session
) -> None:
    world.user("cw.five", "caseworker", world.unit("nord"))
    client = app.test_client()
    _password(client, "cw.five")
    assert _logged_in(client), "optional: the password is enough until the user turns it on"
    assert "Inte påslagen" in client.get("/account/mfa").get_data(as_text=True)
    secret, codes = _enrol(client, "/account/mfa/setup")

    other = app.test_client()
    assert _password(other, "cw.five").endswith("/login/code")

    # New recovery codes need a current code from the app; the old ones stop working.
    assert _post(client, "/account/mfa/recovery", "000000", "renew-")[0] == 302
    status, body = _post(client, "/account/mfa/recovery", _code(secret, time.time() + 30), "renew-")
    fresh = re.findall(r"<li><code>([A-Z2-9]{5}-[A-Z2-9]{5})</code></li>", body)
    assert status == 200 and len(fresh) == 10 and not set(fresh) & set(codes)
    assert _post(other, "/login/code", codes[1])[0] == 200 and not _logged_in(other)

    # The app's codes up to one step ahead are spent; an older one is refused, a recovery
    # code does.
    assert _post(client, "/account/mfa/off", _code(secret, time.time() - 30), "off-")[0] == 302
    db.rollback()
    assert db.scalar(select(User.mfa_enrolled_dt).where(User.username == "cw.five")) is not None
    assert _post(client, "/account/mfa/off", fresh[0], "off-")[0] == 302
    db.rollback()
    assert db.scalar(select(User.mfa_enrolled_dt).where(User.username == "cw.five")) is None
    assert ("account:mfa:remove", "success") in _actions(db)
    assert _password(app.test_client(), "cw.five") == "/"


def test_it_cannot_be_turned_off_where_it_is_required(strict_app: Flask, world: World) -> None:
    world.user("cw.six", "caseworker", world.unit("nord"))
    client = strict_app.test_client()
    _password(client, "cw.six")
    secret, _codes = _enrol(client, "/login/setup")
    assert "Stäng av" not in client.get("/account/mfa").get_data(as_text=True)
    _post(client, "/account/mfa/off", _code(secret, time.time() + 30), "off-")
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "kan inte stängas av" in page and "Påslagen sedan" in page


def test_the_command_line_resets_it(
    strict_app: Flask, world: World, db: Session, database_url: str, keyring_path: Path
) -> None:
    world.user("cw.seven", "caseworker", world.unit("nord"))
    client = strict_app.test_client()
    _password(client, "cw.seven")
    _enrol(client, "/login/setup")
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
    }
    listed = CliRunner().invoke(main, ["users", "list"], env=env)
    assert "mfa on " in listed.output
    result = CliRunner().invoke(main, ["users", "reset-mfa", "cw.seven"], env=env)
    assert result.exit_code == 0 and "1 session(s) ended" in result.output, result.output
    assert not _logged_in(client)
    unknown = CliRunner().invoke(main, ["users", "reset-mfa", "nobody"], env=env)
    assert unknown.exit_code != 0 and "Traceback" not in unknown.output
    assert ("admin:user:mfa_reset", "success") in _actions(db)


def test_a_login_lands_on_the_page_that_asked_for_it(
    app: Flask, strict_app: Flask, world: World, db: Session
) -> None:
    """A deep link survives the login, through the second factor too; only a path of this
    site is followed, and a query string (which may hold a personnummer) is never kept."""
    owner = world.user("cw.eight", "caseworker", world.unit("nord"))
    case = world.case(owner)
    client = app.test_client()
    asked = client.get(f"/cases/{case.id}?pnr=20120101-9815")
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/login")
    with client.session_transaction() as session:
        assert session["after_login"] == f"/cases/{case.id}"
    assert _password(client, "cw.eight") == f"/cases/{case.id}"
    assert _password(app.test_client(), "cw.eight") == "/"  # nothing asked: the start page
    # Not another site, however the path is written.
    for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        other = app.test_client()
        with other.session_transaction() as session:
            session["after_login"] = target
        assert _password(other, "cw.eight") == "/"

    strict = strict_app.test_client()
    strict.get("/follow-ups")
    assert _password(strict, "cw.eight").endswith("/login/setup")
    page = strict.get("/login/setup").get_data(as_text=True)
    key = MFA_KEY_ON_PAGE.search(page)
    assert key is not None
    status, body = _post(strict, "/login/setup", totp_code(key.group(1)))
    assert status == 200 and 'href="/follow-ups"' in body  # "continue" after the codes
