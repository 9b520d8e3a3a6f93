"""The printed report for the case file: the child's identity under the protected-identity
rule, the research index only on request, everyone who wrote the draft, the running header,
and the plain-text "samlad bedömning" beside it."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment, AssessmentEditor
from riskassess.cases.models import Case, CaseAccess
from riskassess.cases.services import open_identity
from riskassess.core.audit import AuditEntry
from tests.conftest import PASSWORD, World, csrf
from tests.integration.casework import with_record

SAVRY = ("savry-style", "1.0")
NAME = "Testa Fiktivdotter"


def _cast(world: World) -> tuple[User, User, User, Case]:
    north = world.unit("nord")
    owner = world.user("cw.north", "caseworker", north)
    colleague = world.user("cw.north2", "caseworker", north)
    supervisor = world.user("sup.north", "supervisor", north)
    return owner, colleague, supervisor, world.case(owner)


def _content(world: World) -> Content:
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    items = {
        item.code: ItemRating(
            "high" if item.scale.kind == "risk" else "present", "Fiktiv motivering", False, []
        )
        for item in instrument.items
    }
    items["H1"].is_critical = True
    return with_record(
        Content(items, "high", "Fiktivt skäl för bedömningen", scenarios="Fiktivt scenario")
    )


def _approved(
    world: World, owner: User, colleague: User, supervisor: User, case: Case
) -> Assessment:
    """Started by the owner, completed by a colleague, approved by the supervisor."""
    session, vault = world.session, world.vault
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessment = assessments.start_assessment(session, vault, owner, case, instrument)
    content = _content(world)
    assessments.save_assessment(
        session, vault, colleague, case, assessment, content, assessment.lock_version
    )
    assessments.submit_assessment(session, vault, colleague, case, assessment, instrument)
    assessments.approve_assessment(
        session, vault, world.passwords, supervisor, case, assessment, instrument, "", PASSWORD
    )
    session.commit()
    return assessment


def _prints(db: Session) -> list[AuditEntry]:
    db.rollback()
    return list(
        db.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "case:assessment:print")
            .order_by(AuditEntry.seq)
        )
    )


def _case_text(page: str) -> str:
    found = re.search(r'<textarea id="case-text"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None
    return html.unescape(found.group(1))


def test_report_names_the_child_and_everyone_who_wrote_it(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, colleague, supervisor, case = _cast(world)
    approved = _approved(world, owner, colleague, supervisor, case)
    pnr = open_identity(db, world.vault, case).personnummer_display
    login("sup.north")
    page = client.get(f"/assessments/{approved.id}/report").get_data(as_text=True)
    assert NAME in page and pnr in page
    # The author, then the colleague who completed the draft; the approver did not write it.
    written = re.search(r"<dt>Skriven av</dt><dd>([^<]*)<br>", page)
    assert written is not None and written.group(1) == "Test cw.north, Test cw.north2"
    # The running header: case, instrument and version, state and date, unverified file.
    header = re.search(r'data-running-header="([^"]*)"', page)
    assert header is not None
    assert case.reference in header.group(1) and "version 1.0" in header.group(1)
    assert "Godkänd" in header.group(1) and "OVERIFIERAD INSTRUMENTFIL" in header.group(1)
    assert 'data-page-word="Sida"' in page and 'data-of-word="av"' in page
    # The samlad bedömning: plain text, with the judgement, the critical item and approval.
    text = _case_text(page)
    assert "Skäl för bedömningen:\nFiktivt skäl för bedömningen" in text
    assert "Kritiska punkter:\n- H1 " in text
    assert "Godkänd av Test sup.north" in text
    assert NAME not in text and pnr not in text  # the identity is the report's, not the text's
    # An unprotected identity is printed like the case page shows it: nothing to record.
    db.rollback()
    assert db.scalars(select(CaseAccess)).all() == []
    assert NAME not in _prints(db)[-1].body


def test_editors_are_recorded_at_each_save(world: World, db: Session) -> None:
    owner, colleague, _supervisor, case = _cast(world)
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessment = assessments.start_assessment(db, world.vault, owner, case, instrument)
    for who in (owner, colleague, owner):
        assessments.save_assessment(
            db, world.vault, who, case, assessment, _content(world), assessment.lock_version
        )
    db.commit()
    rows = db.scalars(
        select(AssessmentEditor).where(AssessmentEditor.assessment_id == assessment.id)
    ).all()
    by_user = {row.user_id: row for row in rows}
    assert set(by_user) == {owner.id, colleague.id}
    assert by_user[owner.id].first_edit_dt <= by_user[colleague.id].first_edit_dt
    assert by_user[owner.id].last_edit_dt >= by_user[colleague.id].last_edit_dt


def test_research_index_only_when_asked_for(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, colleague, supervisor, case = _cast(world)
    approved = _approved(world, owner, colleague, supervisor, case)
    login("cw.north")
    path = f"/assessments/{approved.id}/report"
    plain = client.get(path).get_data(as_text=True)
    assert 'id="research-title"' not in plain
    assert "av högst 48" not in plain
    assert '<input type="checkbox" id="research" name="research" value="1" aria' in plain
    asked = client.get(f"{path}?research=1").get_data(as_text=True)
    assert 'id="research-title"' in asked and "av högst 48" in asked
    assert 'value="1" checked' in asked
    first, second = _prints(db)[-2:]
    assert "research_index" not in first.body and '"research_index":true' in second.body
    # The samlad bedömning never carries the index.
    assert "48" not in _case_text(asked)


def test_protected_identity_is_printed_only_with_a_reason(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, colleague, supervisor, case = _cast(world)
    approved = _approved(world, owner, colleague, supervisor, case)
    case.is_protected = True
    world.session.commit()
    pnr = open_identity(db, world.vault, case).personnummer_display
    path = f"/assessments/{approved.id}/report"

    login("cw.north")  # the assigned caseworker
    hidden = client.get(path).get_data(as_text=True)
    assert NAME not in hidden and pnr not in hidden
    assert "namn och personnummer skrivs inte ut" in hidden
    assert 'name="purpose"' in hidden  # the form that asks for the reason

    # No reason: nothing shown, nothing recorded.
    token = csrf(client, path)
    missing = client.post(path, data={"csrf_token": token}, follow_redirects=True)
    assert NAME not in missing.get_data(as_text=True)
    assert "Välj skälet" in missing.get_data(as_text=True)
    db.rollback()
    assert db.scalars(select(CaseAccess)).all() == []

    token = csrf(client, path)
    shown = client.post(
        path,
        data={"csrf_token": token, "purpose": "case_handling", "note": "", "research": "y"},
    ).get_data(as_text=True)
    assert NAME in shown and pnr in shown
    assert "av högst 48" in shown  # the research choice is carried along
    db.rollback()
    accesses = db.scalars(select(CaseAccess).where(CaseAccess.case_id == case.id)).all()
    assert [(a.user_id, a.kind, a.purpose) for a in accesses] == [
        (owner.id, "protected", "case_handling")
    ]
    entry = _prints(db)[-1]
    assert '"identity_shown":true' in entry.body and '"purpose":"case_handling"' in entry.body
    assert f'"access":"{accesses[0].id}"' in entry.body
    assert NAME not in entry.body and pnr not in entry.body
    # The next opening hides it again.
    assert NAME not in client.get(path).get_data(as_text=True)

    client.post("/logout", data={"csrf_token": csrf(client, path)})
    login("cw.north2")  # same unit, not the assigned caseworker: may read, may not reveal
    page = client.get(path).get_data(as_text=True)
    assert NAME not in page and 'name="purpose"' not in page
    token = csrf(client, "/cases")
    refused = client.post(path, data={"csrf_token": token, "purpose": "other"})
    assert refused.status_code == 403 and NAME not in refused.get_data(as_text=True)
    db.rollback()
    denials = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "case:identity:reveal", AuditEntry.actor_id == colleague.id
        )
    ).all()
    assert len(denials) == 1 and denials[0].outcome == "denied"
