"""Every route in the app's URL map, for every role, answers as this table says.

A new route without a row here fails `test_every_route_is_in_the_matrix`, so each route is
checked for every role as it is added. Every refusal (403) must leave an audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.core.audit import AuditEntry
from riskassess.web import PUBLIC
from tests.conftest import World, csrf

ROLES = ("anonymous", "caseworker", "caseworker_other_unit", "supervisor", "trainer", "admin")
USERNAMES = {
    "caseworker": "cw.north",
    "caseworker_other_unit": "cw.south",
    "supervisor": "sup.north",
    "trainer": "trainer",
    "admin": "admin",
}
LOGIN = "login"  # anonymous visitors are sent to the login page


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {case}, {draft}, {submitted} are filled in per test
    expected: dict[str, int | str]
    form: tuple[tuple[str, str], ...] = ()


def _only(allowed: dict[str, int], others: int | str = 403) -> dict[str, int | str]:
    expected: dict[str, int | str] = {role: others for role in ROLES}
    expected["anonymous"] = LOGIN
    expected.update(allowed)
    return expected


EVERY_USER = {role: 200 for role in ROLES if role != "anonymous"}

MATRIX: dict[str, Route] = {
    "static": Route("GET", "/static/style.css", {role: 200 for role in ROLES}),
    "accounts.index": Route("GET", "/", {role: 302 for role in ROLES}),
    "accounts.login": Route("GET", "/login", {"anonymous": 200} | {r: 302 for r in ROLES[1:]}),
    "accounts.logout": Route("POST", "/logout", {role: 302 for role in ROLES}),
    "accounts.set_language": Route(
        "POST", "/language", {role: 302 for role in ROLES}, (("lang", "en"),)
    ),
    "accounts.list_users": Route("GET", "/admin/users", _only({"admin": 200})),
    "cases.list_cases": Route(
        "GET", "/cases", _only({"caseworker": 200, "caseworker_other_unit": 200, "supervisor": 200})
    ),
    "cases.new_case": Route(
        "GET", "/cases/new", _only({"caseworker": 200, "caseworker_other_unit": 200})
    ),
    "cases.show_case": Route("GET", "/cases/{case}", _only({"caseworker": 200, "supervisor": 200})),
    "assessments.start": Route(
        "POST",
        "/cases/{case}/assessments",
        _only({"caseworker": 302}),
        (("instrument", "savry-style@1.0"),),
    ),
    "assessments.show": Route(
        "GET", "/assessments/{draft}", _only({"caseworker": 200, "supervisor": 200})
    ),
    "assessments.edit": Route("GET", "/assessments/{draft}/edit", _only({"caseworker": 200})),
    "assessments.submit": Route("POST", "/assessments/{draft}/submit", _only({"caseworker": 302})),
    "assessments.review_queue": Route("GET", "/reviews", _only({"supervisor": 200})),
    "assessments.review": Route(
        "POST",
        "/assessments/{submitted}/review",
        _only({"supervisor": 302}),
        (("decision", "approve"), ("comment", "")),
    ),
    "instruments.list_instruments": Route("GET", "/instruments", _only(EVERY_USER)),
    "instruments.show_instrument": Route("GET", "/instruments/savry-style/1.0", _only(EVERY_USER)),
}


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(MATRIX), "add the new route to MATRIX (and its permission)"


def test_every_view_declares_its_permission(app: Flask) -> None:
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "permission", None) is not None, f"{endpoint} has no @require/@public"
        if MATRIX[endpoint].expected.get("anonymous") != LOGIN:
            assert view.permission == PUBLIC, f"{endpoint} is reachable anonymously but not @public"


def _arrange(world: World) -> dict[str, str]:
    north, south = world.unit("nord"), world.unit("syd")
    owner = world.user("cw.north", "caseworker", north)
    world.user("cw.south", "caseworker", south)
    world.user("sup.north", "supervisor", north)
    world.user("trainer", "trainer", None)
    world.user("admin", "admin", None)
    case = world.case(owner)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    session, vault = world.session, world.vault
    draft = assessments.start_assessment(session, vault, owner, case, instrument)
    submitted = assessments.start_assessment(session, vault, owner, case, instrument)
    full = Content(
        {item.code: ItemRating(item.scale.levels[0].code, "Fiktiv") for item in instrument.items},
        "low",
        "Fiktiv sammanfattning",
    )
    assessments.save_assessment(
        session, vault, owner, case, submitted, full, submitted.lock_version
    )
    assessments.submit_assessment(session, vault, owner, case, submitted, instrument)
    session.commit()
    return {"case": str(case.id), "draft": str(draft.id), "submitted": str(submitted.id)}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_route_answers_as_the_matrix_says(
    endpoint: str,
    role: str,
    client: FlaskClient,
    world: World,
    db: Session,
    login: Callable[[str], None],
) -> None:
    route = MATRIX[endpoint]
    ids = _arrange(world)
    if role != "anonymous":
        login(USERNAMES[role])
    path = route.path.format(**ids)
    if route.method == "GET":
        response = client.get(path)
    else:
        token = csrf(client, "/login" if role == "anonymous" else "/instruments")
        response = client.post(path, data={"csrf_token": token, **dict(route.form)})
    body = response.get_data(as_text=True)
    response.close()  # static files are streamed from an open file
    expected = route.expected[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/login")
        return
    assert response.status_code == expected, body[:300]
    if expected == 403:
        db.rollback()
        denied = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        assert denied, "a refusal must be audited"
        assert "Testa Fiktivdotter" not in body
