"""Returned work in plain sight (issue 15, item 3) and review without losing work (item 4)."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.assessments.models import Assessment
from riskassess.core.audit import AuditEntry
from tests.conftest import PASSWORD, World, csrf, lock_version
from tests.integration.casework import returned, row_of, staff, submitted

COMMENT = "Komplettera H3: källorna saknas."


def _note(page: str) -> str:
    """The returned-for-revision note of a page, or "" if it has none."""
    found = re.search(r'<section class="returned-note".*?</section>', page, re.S)
    return found.group(0) if found else ""


def test_returned_comment_is_on_top_of_every_page_until_submitted_again(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    assessment = returned(world, team.owner, team.supervisor, case, COMMENT)
    path = f"/assessments/{assessment.id}"
    login("cw.north")
    summary = client.get(path).get_data(as_text=True)
    assert COMMENT in _note(summary) and "Test sup.north" in _note(summary)
    assert summary.index("returned-note") < summary.index('<dl class="facts">')
    for page in ("/rate/H", "/rate/K", "/rate/I", "/rate/S", "/judgement"):
        assert COMMENT in _note(client.get(path + page).get_data(as_text=True)), page
    assert "Returnerad" in row_of(client.get("/cases").get_data(as_text=True), case.reference)
    # The first save makes it a draft again: the comment stays until it is submitted.
    saved = client.post(
        path + "/rate/H",
        data={
            "csrf_token": csrf(client, path + "/rate/H"),
            "lock_version": str(lock_version(db, str(assessment.id))),
            "rating_H3": "high",
            "rationale_H3": "Fiktiv motivering med källor",
            "sources_H3": ["records"],
            "stay": "1",
        },
    )
    assert saved.status_code == 302
    db.rollback()
    assert db.scalar(select(Assessment.state).where(Assessment.id == assessment.id)) == "draft"
    assert COMMENT in _note(client.get(path + "/rate/K").get_data(as_text=True))
    assert COMMENT in _note(client.get(path).get_data(as_text=True))
    resubmitted = client.post(path + "/submit", data={"csrf_token": csrf(client, path)})
    assert resubmitted.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert _note(page) == "" and COMMENT in page  # still in the review history below
    assert "Returnerad" not in row_of(client.get("/cases").get_data(as_text=True), case.reference)


def _review(client: FlaskClient, path: str, **fields: str) -> str:
    response = client.post(f"{path}/review", data={"csrf_token": csrf(client, path), **fields})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _field(page: str, field_id: str) -> str:
    """The form field's block (label, hint, error, input) in the review form."""
    form = page.split('<section id="review"', 1)[1]
    found = re.search(rf'<div class="field[^"]*">\s*<label for="{field_id}".*?</div>', form, re.S)
    assert found, field_id
    return found.group(0)


def _top(page: str) -> str:
    """What the page shows above its main heading's content: the flashed messages."""
    return page.split("<h1>", 1)[0]


def test_wrong_password_keeps_the_comment_and_decision_and_says_so_by_the_field(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    assessment = submitted(world, team.owner, case)
    path = f"/assessments/{assessment.id}"
    login("sup.north")
    page = _review(client, path, decision="approve", comment=COMMENT, password="fel-lösenord")
    password = _field(page, "password")
    assert "Lösenordet var fel: bedömningen godkändes inte." in password
    assert (
        'aria-invalid="true"' in password
        and 'aria-describedby="password-hint password-error"' in password
    )
    assert "Lösenordet var fel" not in _top(page)
    assert f"\r\n{COMMENT}</textarea>" in _field(page, "comment")
    assert re.search(r'<input checked id="decision-0"[^>]*value="approve"', page)
    assert f'action="{path}/review#review"' in page
    assert 'value="fel-lösenord"' not in page  # a password is never sent back
    db.rollback()
    stored = db.get(Assessment, assessment.id)
    assert stored is not None and stored.state == "submitted"
    failed = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "case:assessment:sign", AuditEntry.outcome == "failure"
        )
    ).all()
    assert len(failed) == 1
    # The right password then approves, with the comment kept.
    response = client.post(
        f"{path}/review",
        data={
            "csrf_token": csrf(client, path),
            "decision": "approve",
            "comment": COMMENT,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    db.rollback()
    stored = db.get(Assessment, assessment.id)
    assert stored is not None and stored.state == "approved"


def test_empty_password_has_its_own_message_and_is_no_failed_signature(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    assessment = submitted(world, team.owner, case)
    path = f"/assessments/{assessment.id}"
    login("sup.north")
    page = _review(client, path, decision="approve", comment=COMMENT, password="")
    password = _field(page, "password")
    assert "Ange ditt lösenord för att godkänna och signera bedömningen." in password
    assert "Lösenordet var fel" not in page
    assert f"\r\n{COMMENT}</textarea>" in page
    db.rollback()
    assert not db.scalars(
        select(AuditEntry).where(AuditEntry.action == "case:assessment:sign")
    ).all()


def test_return_without_comment_and_missing_decision_are_answered_by_their_fields(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    assessment = submitted(world, team.owner, case)
    path = f"/assessments/{assessment.id}"
    login("sup.north")
    page = _review(client, path, decision="return", comment="  ", password="")
    assert "En kommentar behövs för att returnera en bedömning." in _field(page, "comment")
    assert "Ange ditt lösenord" not in page  # returning needs no signature
    assert re.search(r'<input checked id="decision-1"[^>]*value="return"', page)
    page = _review(client, path, comment=COMMENT)
    assert (
        "Välj om bedömningen ska godkännas eller returneras."
        in page.split('<section id="review"')[1]
    )
    assert f"\r\n{COMMENT}</textarea>" in page
    db.rollback()
    stored = db.get(Assessment, assessment.id)
    assert stored is not None and stored.state == "submitted"
