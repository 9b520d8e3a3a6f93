"""A closed case is read only by its responsible caseworker and the supervisors of its unit.
Others of the unit get a refusal that says why (audited like every refusal); emergency access
does not open a closed case either; reopening the case (the child is back) opens it again."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.cases import services as cases
from riskassess.cases.models import Case, CaseAccess
from riskassess.core.audit import AuditEntry
from tests.conftest import World, csrf
from tests.integration.casework import approved, row_of, staff

NAME = "Stängda Fiktivsdotter"  # fictional
CLOSED_TEXT = "Ärendet är avslutat"


def _closed_case(world: World) -> tuple[Case, str, str]:
    team = staff(world)
    case = world.case(team.owner, name=NAME)
    assessment = approved(world, team.owner, team.supervisor, case)
    cases.close_case(world.session, team.owner, case)
    world.session.commit()
    return (
        case,
        str(assessment.id),
        cases.open_identity(world.session, world.vault, case).personnummer_display,
    )


def _denials(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(
        db.scalars(
            select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == "denied")
        )
    )


def test_the_caseworker_and_the_supervisor_read_a_closed_case(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    case, assessment_id, _pnr = _closed_case(world)
    for username in ("cw.north", "sup.north"):
        login(username)
        page = client.get(f"/cases/{case.id}")
        assert page.status_code == 200 and NAME in page.get_data(as_text=True)
        assert client.get(f"/assessments/{assessment_id}").status_code == 200
        assert client.get(f"/assessments/{assessment_id}/report").status_code == 200
        client.post("/logout", data={"csrf_token": csrf(client, "/cases")})


def test_another_caseworker_of_the_unit_is_refused_with_a_reason_and_it_is_audited(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    case, assessment_id, pnr = _closed_case(world)
    login("cw.north2")
    for path in (
        f"/cases/{case.id}",
        f"/assessments/{assessment_id}",
        f"/assessments/{assessment_id}/report",
        f"/cases/{case.id}/compare",
    ):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 403, path
        assert CLOSED_TEXT in body and NAME not in body and pnr not in body
    assert [e.object_id for e in _denials(db, "case:case:read")] == [str(case.id)]
    assert len(_denials(db, "case:assessment:read")) == 1
    assert len(_denials(db, "case:assessment:print")) == 1
    assert len(_denials(db, "case:assessment:compare")) == 1
    # The list shows the case, without the child; the search finds it, without the child.
    listing = client.get("/cases?status=closed").get_data(as_text=True)
    row = row_of(listing, case.reference)
    assert NAME not in listing and "läses bara av" in row
    found = client.post(
        "/cases/search", data={"csrf_token": csrf(client, "/cases/search"), "personnummer": pnr}
    ).get_data(as_text=True)
    assert case.reference in found and NAME not in found, found[found.find("<main") :]


def test_emergency_access_does_not_open_a_closed_case(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    case, _assessment_id, pnr = _closed_case(world)
    login("cw.south")
    response = client.post(
        "/emergency",
        data={
            "csrf_token": csrf(client, "/emergency"),
            "personnummer": pnr,
            "purpose": "urgent_protection",
            "note": "Fiktivt akut skyddsbehov",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "är avslutat" in body and NAME not in body
    db.rollback()
    assert db.scalar(select(CaseAccess).where(CaseAccess.case_id == case.id)) is None
    [denied] = _denials(db, "case:case:emergency")
    assert denied.object_id == str(case.id) and '"closed":true' in denied.body
    assert client.get(f"/cases/{case.id}").status_code == 403


def test_a_reopened_case_is_read_by_the_unit_again(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    case, _assessment_id, pnr = _closed_case(world)
    login("cw.north2")
    assert client.get(f"/cases/{case.id}").status_code == 403
    # The child is back: opening a case for the same number reopens the unit's closed one.
    reopened = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(client, "/cases/new"),
            "name": NAME,
            "personnummer": pnr,
        },
    )
    assert reopened.status_code == 302 and str(case.id) in reopened.headers["Location"]
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and NAME in page.get_data(as_text=True)
