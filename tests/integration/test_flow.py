"""The walking skeleton end to end through the Flask test client, on each real database."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry, verify_chain
from tests.conftest import PASSWORD, World, csrf, lock_version, rate_everything

SAVRY = "savry-style@1.0"


def _setup(world: World) -> tuple[World, Case]:
    north = world.unit("nord")
    south = world.unit("syd")
    owner = world.user("cw.north", "caseworker", north)
    world.user("cw.south", "caseworker", south)
    world.user("sup.north", "supervisor", north)
    return world, world.case(owner)


def _rate_everything(client: FlaskClient, assessment_id: str, db: Session, world: World) -> None:
    rate_everything(client, db, world.registry, assessment_id)


def _lock(db: Session, assessment_id: str) -> int:
    return lock_version(db, assessment_id)


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _start(client: FlaskClient, case: Case) -> str:
    path = f"/cases/{case.id}"
    response = client.post(
        f"/cases/{case.id}/assessments",
        data={"csrf_token": csrf(client, path), "instrument": SAVRY},
    )
    assert response.status_code == 302
    return response.headers["Location"].split("/")[2]


def test_login_failure_is_audited_and_refused(
    client: FlaskClient, world: World, db: Session
) -> None:
    _setup(world)
    response = client.post(
        "/login",
        data={"username": "cw.north", "password": "wrong", "csrf_token": csrf(client, "/login")},
    )
    assert response.status_code == 200
    assert "Fel användarnamn eller lösenord" in response.get_data(as_text=True)
    failures = db.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.outcome == "failure")
    )
    assert failures == 1


def test_full_flow_create_rate_submit_approve(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    unit = world.unit("nord")
    world.user("cw.north", "caseworker", unit)
    world.user("sup.north", "supervisor", unit)

    login("cw.north")
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(client, "/cases/new"),
            "name": "Elsa Påhittad",
            "personnummer": "20120101-9815",
            "birth_date": "2012-01-01",
            "sex": "female",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    case_id = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "Elsa Påhittad" in page and "20120101-9815" in page

    case = db.get(Case, _uuid(case_id))
    assert case is not None
    assessment_id = _start(client, case)
    _rate_everything(client, assessment_id, db, world)
    submit = client.post(
        f"/assessments/{assessment_id}/submit",
        data={"csrf_token": csrf(client, f"/assessments/{assessment_id}")},
    )
    assert submit.status_code == 302
    db.rollback()
    assessment = db.get(Assessment, _uuid(assessment_id))
    assert assessment is not None and assessment.state == "submitted"

    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("sup.north")
    queue = client.get("/reviews").get_data(as_text=True)
    assert case.reference in queue
    path = f"/assessments/{assessment_id}"
    wrong = client.post(
        f"{path}/review",
        data={"csrf_token": csrf(client, path), "decision": "approve", "password": "fel"},
        follow_redirects=True,
    )
    assert "Lösenordet var fel" in wrong.get_data(as_text=True)
    db.rollback()
    unsigned = db.get(Assessment, _uuid(assessment_id))
    assert unsigned is not None and unsigned.state == "submitted"
    review = client.post(
        f"{path}/review",
        data={
            "csrf_token": csrf(client, path),
            "decision": "approve",
            "comment": "",
            "password": PASSWORD,
        },
    )
    assert review.status_code == 302
    db.rollback()
    assessment = db.get(Assessment, _uuid(assessment_id))
    assert assessment is not None and assessment.state == "approved"
    assert assessment.content_hash and len(assessment.content_hash) == 64
    approval = db.scalar(select(AuditEntry).where(AuditEntry.action == "case:assessment:approve"))
    assert approval is not None and assessment.content_hash in approval.body
    assert verify_chain(db).ok


def test_incomplete_assessment_cannot_be_submitted(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _w, case = _setup(world)
    login("cw.north")
    assessment_id = _start(client, case)
    response = client.post(
        f"/assessments/{assessment_id}/submit",
        data={"csrf_token": csrf(client, f"/assessments/{assessment_id}")},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Ännu inte bedömda" in page
    db.rollback()
    assessment = db.get(Assessment, _uuid(assessment_id))
    assert assessment is not None and assessment.state == "draft"


def test_return_needs_comment_and_shows_it(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _w, case = _setup(world)
    login("cw.north")
    assessment_id = _start(client, case)
    _rate_everything(client, assessment_id, db, world)
    client.post(
        f"/assessments/{assessment_id}/submit",
        data={"csrf_token": csrf(client, f"/assessments/{assessment_id}")},
    )
    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("sup.north")
    path = f"/assessments/{assessment_id}"
    empty = client.post(
        f"{path}/review",
        data={"csrf_token": csrf(client, path), "decision": "return", "comment": " "},
        follow_redirects=True,
    )
    assert "En kommentar behövs" in empty.get_data(as_text=True)
    db.rollback()
    assessment = db.get(Assessment, _uuid(assessment_id))
    assert assessment is not None and assessment.state == "submitted"
    client.post(
        f"{path}/review",
        data={"csrf_token": csrf(client, path), "decision": "return", "comment": "Komplettera H3."},
    )
    db.rollback()
    assessment = db.get(Assessment, _uuid(assessment_id))
    assert assessment is not None and assessment.state == "returned"
    assert "Komplettera H3." in client.get(path).get_data(as_text=True)


def test_caseworker_of_other_unit_is_denied_and_audited(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _w, case = _setup(world)
    login("cw.south")
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 403
    assert "Testa Fiktivdotter" not in response.get_data(as_text=True)
    denied = db.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "case:case:read", AuditEntry.outcome == "denied"
        )
    )
    assert denied is not None and denied.object_id == str(case.id)


def test_bad_personnummer_saves_nothing(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _setup(world)
    login("cw.north")
    before = db.scalar(select(func.count()).select_from(Case))
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(client, "/cases/new"),
            "name": "Ny Testperson",
            "personnummer": "20120101-9817",  # wrong check digit
            "birth_date": "2012-01-01",
            "sex": "male",
        },
    )
    assert response.status_code == 200
    assert "kontrollsiffran" in response.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(Case)) == before


def test_conflicting_save_is_refused(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _w, case = _setup(world)
    login("cw.north")
    assessment_id = _start(client, case)
    path = f"/assessments/{assessment_id}/rate/H"
    token = csrf(client, path)
    stale = str(_lock(db, assessment_id))
    first = client.post(
        path, data={"csrf_token": token, "lock_version": stale, "rating_H1": "high"}
    )
    assert first.status_code == 302
    second = client.post(
        path, data={"csrf_token": token, "lock_version": stale, "rating_H1": "low"}
    )
    assert second.status_code == 200
    assert "Någon annan sparade" in second.get_data(as_text=True)
    shown = client.get(f"/assessments/{assessment_id}").get_data(as_text=True)
    assert "Hög" in shown


def test_an_earl_v3_assessment_for_a_girl_needs_no_code(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    """EARL-V3 came as a file only: its case page offers it for a girl of 9, its rating pages
    show its sections, and it is marked unverified where it is rated."""
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    case = world.case(owner, name="Tova Övningsdotter", age=9, sex="female")
    login("cw.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "earl-v3-style@1.0" in page and "EARL-V3-liknande" in page
    response = client.post(
        f"/cases/{case.id}/assessments",
        data={"csrf_token": csrf(client, f"/cases/{case.id}"), "instrument": "earl-v3-style@1.0"},
    )
    assert response.status_code == 302
    assessment_id = response.headers["Location"].split("/")[2]
    stored = db.get(Assessment, _uuid(assessment_id))
    assert stored is not None and stored.instrument_id == "earl-v3-style"
    barriers = client.get(f"/assessments/{assessment_id}/rate/R").get_data(as_text=True)
    assert "Hinder för behandling" in barriers and "namn ej bekräftat" in barriers
    assert "Overifierad instrumentfil" in barriers
    report = client.get(f"/assessments/{assessment_id}/report").get_data(as_text=True)
    assert "Overifierad instrumentfil" in report
