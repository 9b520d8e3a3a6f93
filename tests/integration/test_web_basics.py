"""Language choice, CSRF refusal and security headers."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.app import create_app
from riskassess.cases.models import Case
from riskassess.core import migrate
from riskassess.core.db import make_engine
from tests.conftest import World, csrf, make_settings


def test_swedish_by_default_english_on_request(client: FlaskClient) -> None:
    assert "Logga in" in client.get("/login").get_data(as_text=True)
    response = client.post(
        "/language", data={"csrf_token": csrf(client, "/login"), "lang": "en", "next": "/login"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and '<html lang="en">' in page


def test_language_switch_never_redirects_off_site(client: FlaskClient) -> None:
    response = client.post(
        "/language",
        data={"csrf_token": csrf(client, "/login"), "lang": "sv", "next": "https://evil.example/x"},
    )
    assert response.headers["Location"] == "/"


def test_unknown_language_is_refused(client: FlaskClient) -> None:
    response = client.post("/language", data={"csrf_token": csrf(client, "/login"), "lang": "xx"})
    assert response.status_code == 400


def test_post_without_csrf_token_changes_nothing(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    unit = world.unit("nord")
    world.user("cw.north", "caseworker", unit)
    login("cw.north")
    response = client.post(
        "/cases/new",
        data={
            "name": "Utan Token",
            "personnummer": "20120101-9815",
            "birth_date": "2012-01-01",
            "sex": "male",
        },
    )
    assert response.status_code == 400
    assert "formuläret" in response.get_data(as_text=True).lower()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Case)) == 0


def test_pages_are_not_cached_and_framing_is_refused(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_is_a_clear_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Sidan finns inte" in response.get_data(as_text=True)


def test_scripts_plugins_and_plain_http_are_shut_out(
    client: FlaskClient, database_url: str, keyring_path: Path
) -> None:
    policy = client.get("/login").headers["Content-Security-Policy"]
    assert "object-src 'none'" in policy and "unsafe-inline" not in policy
    assert "Strict-Transport-Security" not in client.get("/login").headers  # test: plain http
    settings = make_settings(database_url, keyring_path).with_overrides(secure_cookies=True)
    production = create_app(settings)
    try:
        header = production.test_client().get("/login").headers["Strict-Transport-Security"]
        assert header == "max-age=31536000; includeSubDomains"
    finally:
        production.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_database_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "instance" / "riskassess.sqlite"
    url = f"sqlite:///{database}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:  # WAL mode: writes create the -wal and -shm files
        connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        created = [p for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm"))]
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in created if p.exists()}
    engine.dispose()
    assert database.name in modes and len(modes) >= 2
    assert set(modes.values()) == {0o600}, modes
    database.chmod(0o644)  # an installation from before this rule
    make_engine(url).dispose()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
