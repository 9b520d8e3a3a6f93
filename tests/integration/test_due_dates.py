"""Due dates and reminders (issue 15, item 2): when the next assessment is due, the plan's
follow-up dates, the list of what is due soon or overdue, and marking a follow-up done."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.assessments.followup import add_months
from riskassess.assessments.models import FollowUp
from riskassess.cases.services import close_case
from riskassess.core.audit import AuditEntry
from tests.conftest import PASSWORD, World, csrf
from tests.integration.casework import (
    SAVRY_TITLE_SV,
    approved,
    days,
    row_of,
    staff,
    submitted,
)


def _audit(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(
        db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
    )


def _follow_ups(db: Session) -> list[FollowUp]:
    db.rollback()
    return list(db.scalars(select(FollowUp).order_by(FollowUp.due_on)))


def test_approval_copies_the_plans_follow_up_dates(world: World, db: Session) -> None:
    team = staff(world)
    case = world.case(team.owner)
    plan = [("Samtalsstöd", days(-1)), ("Utan datum", None), ("Skolstöd", days(5))]
    assessment = approved(world, team.owner, team.supervisor, case, plan=plan)
    rows = _follow_ups(db)
    assert [(r.plan_row, r.due_on) for r in rows] == [(0, days(-1)), (2, days(5))]
    assert all(r.assessment_id == assessment.id and r.done_dt is None for r in rows)
    [entry] = _audit(db, "case:assessment:approve")
    assert json.loads(entry.body)["details"]["follow_ups"] == 2
    assert "Samtalsstöd" not in entry.body


def test_case_page_shows_when_the_next_assessment_is_due(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case, on=days(-20))
    login("cw.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    due = add_months(days(-20), 6)  # the shipped routine: six months
    assert f"Nästa bedömning med {SAVRY_TITLE_SV}: senast {due.isoformat()}" in page
    assert "Försenat" not in page
    assert due.isoformat() in row_of(client.get("/cases").get_data(as_text=True), case.reference)


def test_an_overdue_reassessment_marks_the_case_and_lists_it(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner, name="Kai Sen")
    approved(world, team.owner, team.supervisor, case, on=add_months(days(-3), -6))
    login("cw.north")
    assert "Försenat" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Dags för ombedömning" in row_of(
        client.get("/cases").get_data(as_text=True), case.reference
    )
    page = client.get("/follow-ups").get_data(as_text=True)
    overdue = page.split('id="overdue-title"')[1].split('id="soon-title"')[0]
    row = row_of(overdue, case.reference)
    assert "Ombedömning med SAVRY-liknande" in row and "Kai Sen" in row
    assert days(-3).isoformat() in row
    assert "Klar när nästa bedömning är godkänd" in row


def test_due_list_shows_overdue_and_soon_follow_ups_of_open_cases(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    mine = world.case(team.owner, name="Lo Egen")
    theirs = world.case(team.colleague, name="Mo Kollegas")
    hidden = world.case(team.owner, name="No Skyddad")
    hidden.is_protected = True
    closed = world.case(team.owner, name="Ola Avslutad")
    elsewhere = world.case(team.outsider, name="Pia Annanstans")
    world.session.commit()
    approved(
        world,
        team.owner,
        team.supervisor,
        mine,
        plan=[("Samtalsstöd", days(-2)), ("Skolstöd", days(5)), ("Senare", days(40))],
    )
    approved(world, team.colleague, team.supervisor, theirs, plan=[("Fritid", days(3))])
    approved(world, team.owner, team.supervisor, hidden, plan=[("Skyddat stöd", days(1))])
    approved(world, team.owner, team.supervisor, closed, plan=[("Avslutat", days(1))])
    close_case(world.session, team.owner, closed)
    world.session.commit()
    approved(world, team.outsider, team.other_supervisor, elsewhere, plan=[("Där", days(1))])

    login("cw.north")  # a caseworker sees the own cases first
    page = client.get("/follow-ups").get_data(as_text=True)
    overdue, soon = page.split('id="overdue-title"')[1].split('id="soon-title"')
    assert "Lo Egen" in overdue and "Samtalsstöd" in overdue and "Skolstöd" not in overdue
    assert days(-2).isoformat() in overdue
    assert "Skolstöd" in soon and "Senare" not in page
    assert "Skyddad identitet" in soon and "No Skyddad" not in page
    for absent in ("Mo Kollegas", "Ola Avslutad", "Pia Annanstans"):
        assert absent not in page
    assert "Mo Kollegas" in client.get("/follow-ups?scope=unit").get_data(as_text=True)
    [entry, _unit] = _audit(db, "case:follow_up:list")
    details = json.loads(entry.body)["details"]
    assert sorted(details["cases"]) == sorted([str(mine.id), str(hidden.id)])
    assert details["mine"] is True

    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("sup.north")  # a supervisor sees the whole unit first
    page = client.get("/follow-ups").get_data(as_text=True)
    assert "Lo Egen" in page and "Mo Kollegas" in page and "Pia Annanstans" not in page


def test_marking_a_follow_up_done_takes_it_off_the_lists(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case, plan=[("Samtalsstöd", days(-1))])
    [follow_up] = _follow_ups(db)
    login("cw.north")
    assert days(-1).isoformat() in client.get(f"/cases/{case.id}").get_data(as_text=True)
    response = client.post(
        f"/follow-ups/{follow_up.id}/done",
        data={"csrf_token": csrf(client, "/follow-ups"), "back": "case"},
    )
    assert response.status_code == 302 and f"/cases/{case.id}" in response.headers["Location"]
    [done] = _follow_ups(db)
    assert done.done_dt is not None and done.done_by_id == team.owner.id
    [entry] = _audit(db, "case:follow_up:done")
    assert json.loads(entry.body)["details"] == {
        "case": str(case.id),
        "assessment": str(follow_up.assessment_id),
    }
    assert "Samtalsstöd" not in client.get("/follow-ups").get_data(as_text=True)
    assert "Ingenting är försenat." in client.get("/follow-ups").get_data(as_text=True)
    again = client.post(
        f"/follow-ups/{follow_up.id}/done",
        data={"csrf_token": csrf(client, "/follow-ups")},
        follow_redirects=True,
    )
    assert "Uppföljningen är redan markerad som gjord." in again.get_data(as_text=True)
    assert len(_audit(db, "case:follow_up:done")) == 1


def test_another_units_staff_cannot_mark_a_follow_up(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case, plan=[("Samtalsstöd", days(1))])
    [follow_up] = _follow_ups(db)
    login("cw.south")
    response = client.post(
        f"/follow-ups/{follow_up.id}/done", data={"csrf_token": csrf(client, "/follow-ups")}
    )
    assert response.status_code == 403
    [denied] = _audit(db, "case:follow_up:done")
    assert denied.outcome == "denied" and denied.object_id == str(follow_up.id)
    assert _follow_ups(db)[0].done_dt is None


def test_a_newer_approved_plan_replaces_the_old_follow_ups(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case, plan=[("Gammal insats", days(2))])
    # The reassessment is approved with a plan of its own.
    reassessment = submitted(world, team.owner, case, plan=[("Ny insats", days(4))])
    assert reassessment.kind == "reassessment"
    assessments.approve_assessment(
        world.session,
        world.vault,
        world.passwords,
        team.supervisor,
        case,
        reassessment,
        world.instrument_of(reassessment),
        "",
        PASSWORD,
    )
    world.session.commit()
    login("cw.north")
    page = client.get("/follow-ups").get_data(as_text=True)
    assert "Ny insats" in page and "Gammal insats" not in page
    assert days(4).isoformat() in row_of(
        client.get("/cases").get_data(as_text=True), case.reference
    )


def test_a_follow_up_done_stays_done_when_the_plan_is_carried_into_a_reassessment(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    plan = [("Samtalsstöd", days(-2)), ("Skolstöd", days(5))]
    approved(world, team.owner, team.supervisor, case, plan=plan)
    login("cw.north")
    done = next(f for f in _follow_ups(db) if f.due_on == days(-2))
    client.post(f"/follow-ups/{done.id}/done", data={"csrf_token": csrf(client, "/follow-ups")})
    # The reassessment keeps the plan's rows (as a reassessment starts from them) and adds one.
    reassessment = submitted(world, team.owner, case, plan=[*plan, ("Fritid", days(7))])
    assessments.approve_assessment(
        world.session,
        world.vault,
        world.passwords,
        team.supervisor,
        case,
        reassessment,
        world.instrument_of(reassessment),
        "",
        PASSWORD,
    )
    world.session.commit()
    rows = [f for f in _follow_ups(db) if f.assessment_id == reassessment.id]
    assert [(f.due_on, f.done_dt is not None) for f in rows] == [
        (days(-2), True),
        (days(5), False),
        (days(7), False),
    ]
    page = client.get("/follow-ups").get_data(as_text=True)
    assert "Ingenting är försenat." in page and "Skolstöd" in page and "Fritid" in page
