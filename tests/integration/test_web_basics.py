"""Language choice, CSRF refusal and security headers."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.cases.models import Case
from tests.conftest import World, csrf


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
