"""One JSON line per request: request id, user id, route, method, status, duration; never a
query string or anything a user typed, such as a personnummer."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from riskassess.app import create_app
from riskassess.logs import REQUEST_LOGGER, JsonFormatter, scrub
from tests.conftest import PASSWORD, World, csrf, make_settings

PNR = "20120101-9815"  # fictional, valid check digit
# Every way the number could be written into a line.
PNR_FORMS = (PNR, PNR.replace("-", ""), PNR[2:], PNR[2:].replace("-", ""))
FIELDS = {"request_id", "user_id", "method", "route", "endpoint", "status", "duration_ms"}


class ClosingClient(FlaskClient):
    """A test client that closes each response as a WSGI server does, which is when the
    request's line is written."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return ClosingClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture) -> Callable[[], list[dict[str, object]]]:
    """Every record of every logger, as the JSON formatter writes it."""
    caplog.set_level(logging.DEBUG)
    formatter = JsonFormatter()
    return lambda: [json.loads(formatter.format(r)) for r in caplog.records]


def _requests(lines: list[dict[str, object]]) -> list[dict[str, object]]:
    return [line for line in lines if line["logger"] == REQUEST_LOGGER]


def _is(line: dict[str, object], method: str, route: str) -> bool:
    return line["method"] == method and line["route"] == route


def test_one_line_per_request_with_its_fields_and_no_typed_text(
    client: FlaskClient,
    world: World,
    login: Callable[[str], None],
    log_lines: Callable[[], list[dict[str, object]]],
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    world.case(owner)
    # A failed login with the number typed as the username, then the real login.
    client.post(
        "/login",
        data={"username": PNR, "password": PNR, "csrf_token": csrf(client, "/login")},
    )
    login("cw.north")
    token = csrf(client, "/cases/search")
    client.post("/cases/search", data={"csrf_token": token, "personnummer": PNR})
    client.get(f"/cases?personnummer={PNR}&q={PNR.replace('-', '')}")
    client.get(f"/cases/{uuid.uuid4()}?pnr={PNR}")  # no such case: 404
    client.get(f"/no-such-page/{PNR}")

    lines = log_lines()
    requests = _requests(lines)
    assert len(requests) == 9  # failed login 2, login() 2, search 2, then 3 GETs
    for line in requests:
        assert set(line) >= FIELDS, line
        assert re.fullmatch(r"[0-9a-f]{32}", str(line["request_id"]))
        assert line["method"] in {"GET", "POST"}
        assert isinstance(line["status"], int)
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert "?" not in str(line["route"])
    assert len({line["request_id"] for line in requests}) == len(requests)
    search = next(line for line in requests if _is(line, "POST", "/cases/search"))
    assert search["user_id"] == str(owner.id) and search["status"] == 200
    assert search["endpoint"] == "cases.search_cases"
    listing = next(line for line in requests if line["route"] == "/cases")
    assert listing["user_id"] == str(owner.id)
    missing = next(line for line in requests if line["route"] == "/cases/<uuid:case_id>")
    assert missing["status"] == 404
    unknown = next(line for line in requests if line["status"] == 404 and line["route"] is None)
    assert unknown["endpoint"] is None
    failed_login = next(line for line in requests if _is(line, "POST", "/login"))
    assert failed_login["user_id"] is None
    written = "\n".join(json.dumps(line) for line in lines)
    for form in PNR_FORMS:
        assert form not in written


def test_a_sane_request_id_from_the_proxy_is_kept_and_returned(
    client: FlaskClient, log_lines: Callable[[], list[dict[str, object]]]
) -> None:
    given = "0f3c9a2e7b1d4c5a8e6f0a1b2c3d4e5f"  # nginx's $request_id
    response = client.get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] == given
    assert [line["request_id"] for line in _requests(log_lines())] == [given]


@pytest.mark.parametrize(
    "given",
    [
        'x", "user_id": "forged',  # would add a field to a line written by hand
        "short",
        "a" * 65,
        "id-201201019815",  # a personnummer smuggled into the id
        "ab cd-efgh-ijkl",  # a space
    ],
)
def test_an_odd_request_id_is_replaced(
    client: FlaskClient, log_lines: Callable[[], list[dict[str, object]]], given: str
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})
    returned = response.headers["X-Request-ID"]
    assert returned != given and re.fullmatch(r"[0-9a-f]{32}", returned)
    assert [line["request_id"] for line in _requests(log_lines())] == [returned]


def test_error_messages_lose_query_strings_and_personnummer() -> None:
    # What gunicorn writes when a request fails outside the app.
    assert scrub(f"Error handling request GET /cases/search?pnr={PNR}&x=1") == (
        "Error handling request GET /cases/search?[query]"
    )
    assert scrub(f"Invalid request line 'GET /x/{PNR[2:].replace('-', '')} HTTP/1.1'") == (
        "Invalid request line 'GET /x/[number] HTTP/1.1'"
    )
    assert scrub("19121212+1212 and 121212-1212") == "[number] and [number]"
    assert scrub("entry 12345 of 2026-11-29") == "entry 12345 of 2026-11-29"


@pytest.fixture
def proxied(database_url: str, keyring_path: Path) -> Iterator[Flask]:
    flask_app = create_app(make_settings(database_url, keyring_path, trusted_proxies=1))
    yield flask_app
    flask_app.extensions["riskassess"].session_factory.kw["bind"].dispose()


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
SAME_SITE = "https://localhost/login"  # the test client's host, over the proxy's HTTPS


def test_forwarded_headers_count_only_when_a_proxy_is_configured(
    app: Flask, proxied: Flask
) -> None:
    with ClosingClient(app, app.response_class) as direct:
        direct.get("/healthz", headers=FORWARDED)
        assert (request.remote_addr, request.scheme) == ("127.0.0.1", "http")
    with ClosingClient(proxied, proxied.response_class) as behind:
        behind.get("/healthz", headers=FORWARDED)
        assert (request.remote_addr, request.scheme) == ("203.0.113.9", "https")


def test_behind_tls_a_form_posts_with_its_own_sites_referrer_only(
    proxied: Flask, world: World
) -> None:
    """Over HTTPS Flask-WTF also checks that a form post's Referer is this site: browsers send
    it to the same origin (Referrer-Policy: same-origin) and to no one else."""
    world.user("cw.north", "caseworker", world.unit("nord"))
    client = ClosingClient(proxied, proxied.response_class)
    page = client.get("/login", headers=FORWARDED)
    assert page.headers["Referrer-Policy"] == "same-origin"
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert found
    form = {"username": "cw.north", "password": PASSWORD, "csrf_token": found.group(1)}
    for referrer in (None, "https://evil.example/login", "http://localhost/login"):
        headers = FORWARDED if referrer is None else {**FORWARDED, "Referer": referrer}
        assert client.post("/login", data=form, headers=headers).status_code == 400
    logged_in = client.post("/login", data=form, headers={**FORWARDED, "Referer": SAME_SITE})
    assert logged_in.status_code == 302
