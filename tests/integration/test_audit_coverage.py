"""What the app logs today, seen from outside: logins (success and failure), logouts, case lists
and case pages, assessment reads and refusals, each with time, actor, role, unit, tag, object
and outcome, and never a child's name or personal identity number."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import PASSWORD, World, csrf

CHILD = "Testa Fiktivdotter"


def _entries(db: Session) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def _login(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client, "/login")},
    )
    return client


def test_each_access_leaves_a_complete_entry(app: Flask, world: World, db: Session) -> None:
    north, south = world.unit("nord"), world.unit("syd")
    owner = world.user("cw.north", "caseworker", north)
    world.user("cw.south", "caseworker", south)
    world.user("trainer", "trainer", None)
    case = world.case(owner, name=CHILD)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    draft = assessments.start_assessment(world.session, world.vault, owner, case, instrument)
    world.session.commit()
    start = len(_entries(db))

    _login(app, "cw.north", "wrong-password-123")
    _login(app, "nobody", "wrong-password-123")
    client = _login(app, "cw.north")
    assert client.get("/cases").status_code == 200
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert client.get(f"/assessments/{draft.id}").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    stranger = _login(app, "cw.south")
    assert stranger.get(f"/cases/{case.id}").status_code == 403
    assert stranger.get(f"/assessments/{draft.id}").status_code == 403
    assert _login(app, "trainer").get("/cases").status_code == 403

    logged = [(e.action, e.outcome, e) for e in _entries(db)[start:]]
    seen = {(action, outcome) for action, outcome, _e in logged}
    assert {
        ("account:session:login", "failure"),
        ("account:session:login", "success"),
        ("account:session:logout", "success"),
        ("case:case:list", "success"),
        ("case:case:read", "success"),
        ("case:assessment:read", "success"),
        ("case:case:read", "denied"),
        ("case:assessment:read", "denied"),
        ("case:case:list", "denied"),
    } <= seen
    for action, _outcome, entry in logged:
        fields = entry_fields(entry.body)
        assert entry.created_dt.tzinfo is not None
        assert {"actor", "actor_name", "role", "unit", "action", "object_type", "outcome"} <= set(
            fields
        ), action
        assert CHILD not in entry.body
    read = next(e for a, o, e in logged if (a, o) == ("case:case:read", "success"))
    fields = entry_fields(read.body)
    assert (fields["actor"], fields["role"], fields["unit"]) == (
        str(owner.id),
        "caseworker",
        str(north.id),
    )
    assert (read.object_type, read.object_id) == ("case", str(case.id))
    listing = next(e for a, o, e in logged if (a, o) == ("case:case:list", "success"))
    assert str(case.id) in entry_fields(listing.body)["details"]["cases"]
