"""The registerutdrag (GDPR art. 15): everything held about one child, decrypted, with the
access log, as a printable page and a JSON file; made by a supervisor of the child's unit
only, by POST, and audited with ids and counts."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.assessments import feedback
from riskassess.assessments import services as assessments
from riskassess.assessments.feedback import FeedbackEntry
from riskassess.cases import duplicates, retention
from riskassess.cases import services as cases
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry
from tests.conftest import World, csrf
from tests.integration.casework import Staff, approved, complete, days, returned, staff

NAME = "Utdraga Registersdotter"  # fictional
RETURN_COMMENT = "Fiktiv kommentar-Blåbärsris-118"
WITHDRAW_REASON = "Fiktivt återkallat-Kråkbär-407"
INTERVENTION = "Fiktiv insats-Hjortron-552"
EMERGENCY_NOTE = "Fiktiv nödåtkomst-Lingon-731"
HOLD_NOTE = "Fiktivt överklagande-Mjölon-903"
DISAGREEMENT = "Fiktiv invändning-Odon-266"


@pytest.fixture
def arranged(world: World) -> tuple[Staff, Case, str]:
    """A case with a returned and withdrawn assessment, an approved one with a plan, an
    emergency access from another unit, a transfer request and a gallring hold."""
    team = staff(world)
    session, vault = world.session, world.vault
    case = world.case(team.owner, name=NAME)
    first = returned(world, team.owner, team.supervisor, case, RETURN_COMMENT)
    # Saved once, the returned assessment is a draft again, which can be withdrawn.
    assessments.save_assessment(
        session, vault, team.owner, case, first, complete(world), first.lock_version
    )
    assessments.withdraw_assessment(session, vault, team.owner, case, first, WITHDRAW_REASON)
    session.commit()
    signed = approved(world, team.owner, team.supervisor, case, plan=[(INTERVENTION, days(30))])
    told = FeedbackEntry(("child",), days(0), "meeting", "disagrees", DISAGREEMENT)
    feedback.record_feedback(session, vault, team.owner, case, signed, told)
    pnr = cases.open_identity(session, vault, case).personnummer
    cases.grant_emergency_access(
        session, vault, team.outsider, pnr, "urgent_protection", EMERGENCY_NOTE
    )
    duplicates.request_transfer(session, vault, team.outsider, pnr)
    retention.place_hold(session, vault, team.supervisor, case, "legal", HOLD_NOTE)
    session.commit()
    return team, case, cases.open_identity(session, vault, case).personnummer_display


def _entries(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _post(client: FlaskClient, path: str, case: Case) -> object:
    return client.post(path, data={"csrf_token": csrf(client, f"/cases/{case.id}")})


def test_the_printable_extract_holds_everything_decrypted_and_is_audited(
    arranged: tuple[Staff, Case, str],
    client: FlaskClient,
    db: Session,
    login: Callable[[str], None],
) -> None:
    _team, case, pnr = arranged
    login("sup.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{case.id}/register-extract" in page
    response = client.post(
        f"/cases/{case.id}/register-extract",
        data={"csrf_token": csrf(client, f"/cases/{case.id}")},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    for expected in (
        NAME,
        pnr,
        case.reference,
        RETURN_COMMENT,
        WITHDRAW_REASON,
        INTERVENTION,
        "Fiktiv motivering",  # every item's rationale, decrypted
        "Fiktiv sammanfattning",  # the judgement's reasons
        EMERGENCY_NOTE,
        HOLD_NOTE,
        "Testenhet syd",  # the transfer request's unit, and the emergency access's
        "Test cw.south",
        "sekretessprövning",  # to be reviewed before it is handed out
        "TEST 2026/0001",  # the case record: the investigation's reference, the views heard
        "Fiktivt samtal",
        "Fiktiv syn",
        DISAGREEMENT,  # the family's disagreement at feedback
    ):
        assert expected in body, expected
    assert "Nödåtkomst till ett ärende" in body  # the access log, with its events
    [entry] = _entries(db, "case:register_extract:create")
    assert entry.object_id == str(case.id) and '"format":"html"' in entry.body
    assert '"assessments":2' in entry.body
    for secret in (NAME, pnr, RETURN_COMMENT, EMERGENCY_NOTE, HOLD_NOTE):
        assert secret not in entry.body


def test_the_json_file_is_valid_complete_and_named_without_personal_data(
    arranged: tuple[Staff, Case, str],
    client: FlaskClient,
    db: Session,
    login: Callable[[str], None],
) -> None:
    _team, case, pnr = arranged
    login("sup.north")
    response = client.post(
        f"/cases/{case.id}/register-extract.json",
        data={"csrf_token": csrf(client, f"/cases/{case.id}")},
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and case.reference in disposition
    assert NAME.split()[0] not in disposition and pnr[:8] not in disposition
    data = json.loads(response.get_data(as_text=True))
    assert data["format"] == "riskassess-registerutdrag" and data["secrecy_review_required"]
    assert data["identity"]["name"] == NAME and data["identity"]["personnummer"] == pnr
    assert data["identity"]["is_samordningsnummer"] is False
    first, second = data["assessments"]
    assert first["state"] == "withdrawn" and second["state"] == "approved"
    assert [d["comment"] for d in first["decisions"]] == [RETURN_COMMENT, WITHDRAW_REASON]
    items = second["content"]["items"]
    assert items and all(i["rationale"] == "Fiktiv motivering" for i in items)
    assert second["content"]["plan"][0]["intervention"] == INTERVENTION
    assert second["follow_ups"][0]["plan_row"] == 1
    assert second["content"]["investigation"]["reference"] == "TEST 2026/0001"
    assert second["content"]["views_heard"]["child"]["view"] == "Fiktiv syn"
    assert second["content"]["risk_specification"]["months"] == "6"
    [told] = second["feedback"]
    assert told["disagreement"] == DISAGREEMENT and told["to"] == ["child"]
    [access] = data["reasoned_accesses"]
    assert access["kind"] == "emergency" and access["note"] == EMERGENCY_NOTE
    [transfer] = data["transfers"]
    assert transfer["state"] == "pending" and transfer["to_unit"] == "Testenhet syd"
    assert data["retention"]["hold"]["note"] == HOLD_NOTE
    actions = {row["action"] for row in data["access_log"]}
    assert {"case:case:create", "case:case:emergency", "case:assessment:approve"} <= actions
    assert all(row["at"] and row["username"] for row in data["access_log"])
    [entry] = _entries(db, "case:register_extract:create")
    assert '"format":"json"' in entry.body


@pytest.mark.parametrize("username", ["cw.north", "sup.south", "cw.south"])
def test_others_are_refused_and_the_refusal_is_audited(
    username: str,
    arranged: tuple[Staff, Case, str],
    client: FlaskClient,
    db: Session,
    login: Callable[[str], None],
) -> None:
    _team, case, _pnr = arranged
    login(username)
    for suffix in ("", ".json"):
        response = client.post(
            f"/cases/{case.id}/register-extract{suffix}",
            data={"csrf_token": csrf(client, "/cases")},
        )
        assert response.status_code == 403
        assert NAME not in response.get_data(as_text=True)
    denied = [e for e in _entries(db, "case:register_extract:create") if e.outcome == "denied"]
    assert len(denied) == 2
    assert not [e for e in _entries(db, "case:register_extract:create") if e.outcome == "success"]


def test_a_get_or_a_missing_token_makes_no_extract(
    arranged: tuple[Staff, Case, str],
    client: FlaskClient,
    db: Session,
    login: Callable[[str], None],
) -> None:
    _team, case, _pnr = arranged
    login("sup.north")
    assert client.get(f"/cases/{case.id}/register-extract").status_code == 405
    assert client.post(f"/cases/{case.id}/register-extract").status_code == 400
    assert _entries(db, "case:register_extract:create") == []


def test_a_protected_identity_and_a_closed_case_are_in_their_supervisors_extract(
    world: World, client: FlaskClient, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner, name=NAME)
    cases.set_protection(world.session, team.supervisor, case, True)
    cases.close_case(world.session, team.owner, case)
    world.session.commit()
    login("sup.north")
    response = client.post(
        f"/cases/{case.id}/register-extract",
        data={"csrf_token": csrf(client, f"/cases/{case.id}")},
    )
    assert response.status_code == 200 and NAME in response.get_data(as_text=True)
