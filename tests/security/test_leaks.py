"""The leak test: distinctive fictional identities and texts are entered, every page of the app
is exercised by every role through a real HTTP server, and then the needles are searched for in
every stored row (both databases), the SQLite file and its write-ahead log, everything the app
and Werkzeug logged, and every response a user without access to the case received.

The pages come from the authorization matrix, which must list every route, so a new page is
walked here as soon as it is added there.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment
from riskassess.cases import retention
from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.cases.models import Case
from riskassess.core import crypto
from riskassess.core.db import Base
from riskassess.core.keys import DataKey
from riskassess.training.seed import fictional_personnummer
from tests.conftest import PASSWORD, World
from tests.integration.casework import with_record
from tests.security.test_authorization_matrix import LOGIN, MATRIX, ROLES, USERNAMES, _arrange
from tests.security.test_plaintext_inventory import SEALED

NAME = "Xanthippa Qvarnströmsdotter"
SURNAME = "Qvarnströmsdotter"
BORN = date(date.today().year - 14, 3, 17)
RATIONALE = "Kvittrande-Blåbärsmotivering-4711"
JUDGEMENT = "Sammanfattning-Vinbärsbuske-0815"
SCENARIO = "Scenario-Hjortronmyr-5150"
COMMENT = "Arbetsledarkommentar-Nyponros-6620"
ELIGIBILITY = "Skälbeskrivning-Kråkbärsris-7731"
HOLD_NOTE = "Bevarandeskäl-Odonmark-8842"
REFERENCE = "Diarienummer-Lingonris-2291"
CHILD_VIEW = "Barnets-syn-Mjölonris-3307"
GUARDIAN_VIEW = "Vårdnadshavarens-syn-Ljung-4418"
# Roles that must never see this child: every byte they receive is searched.
WITHOUT_ACCESS = ("anonymous", "caseworker_other_unit", "trainer", "admin", "manager")


def _pnr_forms(normalized: str) -> list[str]:
    return [
        normalized,
        f"{normalized[:8]}-{normalized[8:]}",
        normalized[2:],
        f"{normalized[2:8]}-{normalized[8:]}",
    ]


def _needles(normalized: str) -> list[bytes]:
    texts = [NAME, SURNAME, RATIONALE, JUDGEMENT, SCENARIO, COMMENT, ELIGIBILITY, HOLD_NOTE]
    texts += [REFERENCE, CHILD_VIEW, GUARDIAN_VIEW]
    texts += [*_pnr_forms(normalized), BORN.isoformat()]
    return [t.encode("utf-8") for t in texts] + [t.encode("utf-16-le") for t in texts]


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A minimal HTTP client with cookies, which does not follow redirects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._opener = build_opener(HTTPCookieProcessor(CookieJar()), _NoRedirect())

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = None if form is None else urlencode(form).encode()
        # Always http://127.0.0.1 of the live server fixture.
        request = Request(self.base_url + path, data=data, method=method)  # noqa: S310
        try:
            with self._opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except HTTPError as error:
            with error:
                return error.code, error.read()

    def csrf(self, path: str) -> str:
        _status, body = self.request("GET", path)
        found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        assert found, f"no CSRF token on {path}"
        return found.group(1).decode()

    def login(self, username: str) -> None:
        status, _ = self.request(
            "POST",
            "/login",
            {"username": username, "password": PASSWORD, "csrf_token": self.csrf("/login")},
        )
        assert status == 302


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass(frozen=True)
class Seeded:
    ids: dict[str, str]
    normalized_pnr: str


def _seed(world: World) -> Seeded:
    """The matrix's cast, plus one child with distinctive data in every sealed field."""
    ids = _arrange(world)
    session, vault = world.session, world.vault
    owner = session.scalar(select(User).where(User.username == "cw.north"))
    supervisor = session.scalar(select(User).where(User.username == "sup.north"))
    assert owner is not None and supervisor is not None
    normalized, born = normalize_personnummer(fictional_personnummer(BORN, "9869"))
    case = cases.create_case(
        session, vault, owner, cases.Identity(NAME, normalized, born, "female")
    )
    savry = world.registry.get("savry-style", "1.0")
    earl = world.registry.get("earl-20b-style", "1.0")
    assert savry is not None and earl is not None
    full = with_record(
        Content(
            {item.code: ItemRating(item.scale.levels[0].code, RATIONALE) for item in savry.items},
            "low",
            JUDGEMENT,
            scenarios=SCENARIO,
        )
    )
    # The case record's typed texts are child data too.
    full.investigation.reference = REFERENCE
    full.voices.child.view = CHILD_VIEW
    full.voices.guardians[0].view = GUARDIAN_VIEW
    # One open draft per instrument: the draft is started while the others wait for review.
    submitted = assessments.start_assessment(session, vault, owner, case, savry)
    assessments.save_assessment(
        session, vault, owner, case, submitted, full, submitted.lock_version
    )
    assessments.submit_assessment(session, vault, owner, case, submitted, savry)
    returned = assessments.start_assessment(session, vault, owner, case, savry)
    assessments.save_assessment(session, vault, owner, case, returned, full, returned.lock_version)
    assessments.submit_assessment(session, vault, owner, case, returned, savry)
    draft = assessments.start_assessment(session, vault, owner, case, savry)
    assessments.save_assessment(session, vault, owner, case, draft, full, draft.lock_version)
    assessments.return_assessment(session, vault, supervisor, case, returned, COMMENT)
    # Outside the instrument's target group (a girl of 14): needs a written reason.
    assessments.start_assessment(session, vault, owner, case, earl, ELIGIBILITY)
    retention.place_hold(session, vault, supervisor, case, "other", HOLD_NOTE)
    session.commit()
    ids.update(case=str(case.id), draft=str(draft.id), submitted=str(submitted.id))
    return Seeded(ids, normalized)


def _walk(base_url: str, role: str, seeded: Seeded) -> list[tuple[str, int, bytes]]:
    """Every route of the matrix as this role (pages first, then the forms), plus a search
    for the child's personnummer. Returns (what, status, body) for each request."""
    browser = Browser(base_url)
    if role != "anonymous":
        browser.login(USERNAMES[role])
    token_page = "/login" if role == "anonymous" else "/instruments"
    answers = []
    routes = sorted(MATRIX.items(), key=lambda item: (item[1].method != "GET", item[0]))
    for endpoint, route in routes:
        if endpoint in ("accounts.logout", "accounts.logout_everywhere", "accounts.set_language"):
            continue  # would end the walk or switch its language; covered by the matrix
        path = route.path.format(**seeded.ids)
        if route.method == "GET":
            status, body = browser.request("GET", path)
        else:
            form = {"csrf_token": browser.csrf(token_page), **dict(route.form)}
            status, body = browser.request(route.method, path, form)
        assert status < 500, f"{endpoint} as {role} answered {status}: {body[-3000:]!r}"
        expected = route.expected[role]
        if expected == LOGIN:
            assert status == 302
        answers.append((endpoint, status, body))
    if role in ("caseworker", "caseworker_other_unit", "supervisor"):
        form = {
            "csrf_token": browser.csrf("/cases/search"),
            "personnummer": _pnr_forms(seeded.normalized_pnr)[1],
        }
        status, body = browser.request("POST", "/cases/search", form)
        assert status == 200
        answers.append(("search", status, body))
    return answers


def _assert_sealed_columns_hold_only_sealed_values(db: Session) -> None:
    """Every value in a column classified as sealed is in the stored format, under a data key
    that exists. (The walk lifts the seeded hold, so its note is checked in test_retention.)"""
    data_keys = set(db.scalars(select(DataKey.id)))
    filled = set()
    for name in SEALED:
        table_name, column_name = name.split(".")
        column = Base.metadata.tables[table_name].columns[column_name]
        for value in db.scalars(select(column).where(column.is_not(None))):
            assert crypto.sealed_key_id(value) in data_keys, name
            filled.add(name)
    assert {
        "case_file.identity",
        "assessment.content",
        "assessment.eligibility_reason",
        "review_decision.comment",
    } <= filled


def _every_stored_value(db: Session) -> bytes:
    chunks: list[bytes] = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)):
            for value in row:
                chunks.append(value if isinstance(value, bytes) else str(value).encode("utf-8"))
    return b"\n".join(chunks)


def test_no_child_data_in_storage_logs_or_responses_to_users_without_access(
    world: World,
    db: Session,
    database_url: str,
    live_server: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seeded = _seed(world)
    needles = _needles(seeded.normalized_pnr)
    caplog.set_level(logging.DEBUG)  # everything the app, Werkzeug and SQLAlchemy log

    received: dict[str, list[tuple[str, int, bytes]]] = {}
    for role in ROLES:
        received[role] = _walk(live_server, role, seeded)

    # The walk did reach the child's data for those who may see it...
    shown = b"".join(body for _what, _status, body in received["caseworker"])
    assert NAME.encode() in shown and RATIONALE.encode() in shown
    # ...and nowhere else.
    for role in WITHOUT_ACCESS:
        for what, status, body in received[role]:
            for needle in needles:
                assert needle not in body, f"{needle!r} in {what} ({status}) shown to {role}"

    db.rollback()
    _assert_sealed_columns_hold_only_sealed_values(db)
    stored = _every_stored_value(db)
    assert len(stored) > 10_000
    if database_url.startswith("sqlite"):
        db_file = Path(database_url.removeprefix("sqlite:///"))
        stored += b"".join(p.read_bytes() for p in (db_file, Path(f"{db_file}-wal")) if p.exists())
    for needle in needles:
        assert needle not in stored, f"{needle!r} found in the database"

    logged = "\n".join(
        record.getMessage() + (record.exc_text or "") for record in caplog.records
    ).encode("utf-8")
    assert b"GET /cases/" in logged  # Werkzeug's request log was captured
    for needle in needles:
        assert needle not in logged, f"{needle!r} found in the log"


# Typed into forms: a name and a personnummer as a caseworker might type them into any field.
TYPED = f"{NAME} {fictional_personnummer(BORN, '9877')}"
EXTRA_FIELDS = ("carry", "next", "lock_version", "comment", "unlisted_field")


def _approve_one(world: World, seeded: Seeded) -> None:
    session, vault = world.session, world.vault
    owner = session.scalar(select(User).where(User.username == "cw.north"))
    supervisor = session.scalar(select(User).where(User.username == "sup.north"))
    savry = world.registry.get("savry-style", "1.0")
    assert owner is not None and supervisor is not None and savry is not None
    case = session.get(Case, uuid.UUID(seeded.ids["case"]))
    assert case is not None
    # The submitted one: the case has an open SAVRY draft, so no other can be started.
    done = session.get(Assessment, uuid.UUID(seeded.ids["submitted"]))
    assert done is not None
    assessments.approve_assessment(
        session, vault, world.passwords, supervisor, case, done, savry, "", PASSWORD
    )
    session.commit()


def _field_names(client: Any, paths: list[str]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        body = client.get(path).get_data(as_text=True)
        names.update(re.findall(r'name="([^"]+)"', body))
    return names


def test_nothing_typed_into_any_field_reaches_the_audit_log(
    app: Flask, world: World, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    """Every route that takes a form, as every role it answers, is sent the typed text in every
    field the app's pages name and in fields they do not: once with nothing else, once beside
    the route's valid values (so that accepted requests write their entries too)."""
    seeded = _seed(world)
    _approve_one(world, seeded)  # so that starting a reassessment offers items to carry
    caplog.set_level(logging.DEBUG)
    needles = [TYPED.encode(), SURNAME.encode(), TYPED.split()[-1].encode()]
    clients: dict[str, Any] = {}
    for role in ROLES[1:]:
        client = app.test_client()
        token = re.search(
            r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)
        )
        assert token
        response = client.post(
            "/login",
            data={"username": USERNAMES[role], "password": PASSWORD, "csrf_token": token[1]},
        )
        assert response.status_code == 302
        clients[role] = client
    pages = [
        route.path.format(**seeded.ids)
        for endpoint, route in MATRIX.items()
        if route.method == "GET" and endpoint != "static"
    ]
    names = set().union(*(_field_names(c, pages) for c in clients.values()))
    names.discard("csrf_token")
    assert {"rating_H1", "judgement_reason", "name", "personnummer", "note"} <= names
    names.update(EXTRA_FIELDS)

    sent = 0
    for endpoint, route in sorted(MATRIX.items()):
        # These end sessions the walk goes on with (mfa.reset_user ends the trainer's).
        if endpoint in (
            "static",
            "accounts.logout",
            "accounts.logout_everywhere",
            "mfa.reset_user",
        ):
            continue
        path = route.path.format(**seeded.ids)
        for role, client in clients.items():
            for valid in ({}, dict(route.form)):
                form = {name: TYPED for name in names if name not in valid} | valid
                if route.method == "GET":
                    response = client.get(path, query_string=form)
                else:
                    body = client.get("/instruments").get_data(as_text=True)
                    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
                    assert token
                    response = client.post(path, data={**form, "csrf_token": token[1]})
                assert response.status_code < 500, (endpoint, role)
                sent += 1
    assert sent > 300

    db.rollback()
    logged_rows = b"\n".join(
        value if isinstance(value, bytes) else str(value).encode("utf-8")
        for table in ("audit_entry", "audit_case_ref")
        for row in db.execute(select(Base.metadata.tables[table]))
        for value in row
    )
    assert b"case:assessment:create" in logged_rows  # accepted requests were logged
    for needle in needles:
        assert needle not in logged_rows, f"{needle!r} found in the audit log"
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records).encode()
    for needle in needles:
        assert needle not in logged, f"{needle!r} found in the log"
