"""The case record around the ratings, through the web: the link to the BBIC investigation
with its sources, the views of the child and the guardians, what the judgement speaks of, and
feedback of the approved result to the family."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.assessments.models import Assessment, Feedback
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import PASSWORD, World, csrf, fill_record, lock_version
from tests.integration.casework import approved, draft, staff, submitted

TODAY = date.today().isoformat()
TOMORROW = (date.today() + timedelta(days=1)).isoformat()
INVALID = "Inte ett giltigt val"  # WTForms' own message, in Swedish


def _save(client: FlaskClient, db: Session, assessment_id: object, page: str, **fields: str) -> str:
    """Post one record page; return the page shown afterwards (followed redirect)."""
    path = f"/assessments/{assessment_id}/{page}"
    data = {
        "csrf_token": csrf(client, path),
        "lock_version": str(lock_version(db, str(assessment_id))),
    }
    response = client.post(path, data={**data, **fields}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _content(world: World, assessment: Assessment) -> dict[str, Any]:
    """The assessment's content as stored now, decrypted."""
    world.session.rollback()
    stored = world.session.get(Assessment, assessment.id)
    assert stored is not None
    case = world.session.get(Case, stored.case_id)
    assert case is not None
    return assessments.open_content(world.session, world.vault, case, stored).to_json()


def test_a_new_draft_opens_at_the_investigation_and_saves_it_sealed(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    people = staff(world)
    case = world.case(people.owner)
    login("cw.north")
    path = f"/cases/{case.id}"
    started = client.post(
        f"/cases/{case.id}/assessments",
        data={"csrf_token": csrf(client, path), "instrument": "savry-style@1.0"},
    )
    assert started.headers["Location"].endswith("/investigation")
    assessment = db.scalar(select(Assessment))
    assert assessment is not None
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "Utredning och källor" in page and f'value="{TODAY}"' in page  # today by default
    # The section navigation marks the page one is on, as it does for a rated section.
    assert re.search(r'<li aria-current="step"><a href="[^"]*/investigation">', page)
    voices_page = client.get(f"/assessments/{assessment.id}/voices").get_data(as_text=True)
    assert re.search(r'<li aria-current="step"><a href="[^"]*/voices">', voices_page)
    summary_page = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert re.search(
        rf'<li aria-current="step"><a href="/assessments/{assessment.id}">', summary_page
    )

    shown = _save(
        client,
        db,
        assessment.id,
        "investigation",
        phase="follow_up",
        reference="IFO 2026/4711",
        assessed_on=TODAY,
        **{"sources-0-kind": "police", "sources-0-on": TODAY, "sources-0-detail": "Fiktiv"},
    )
    assert "Sparat." in shown
    record = _content(world, assessment)["investigation"]
    assert record == {
        "phase": "follow_up",
        "reference": "IFO 2026/4711",
        "assessed_on": TODAY,
        "sources": [{"kind": "police", "on": TODAY, "description": "Fiktiv"}],
    }
    db.rollback()
    assert b"IFO 2026/4711" not in db.get(Assessment, assessment.id).content  # type: ignore[union-attr]
    summary = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert "IFO 2026/4711" in summary and "Uppföljning" in summary
    # Only police as a source: no interview, so the record says it rests on records only.
    assert "Bygger enbart på handlingar" in summary


def test_bad_record_input_is_explained_and_changes_nothing(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    people = staff(world)
    assessment = draft(world, people.owner, world.case(people.owner))
    login("cw.north")
    before = lock_version(db, str(assessment.id))
    cases = [
        ("investigation", {"assessed_on": TOMORROW}, "Datumet kan inte vara senare än i dag."),
        ("investigation", {"sources-0-kind": "school"}, "Varje källa behöver datum"),
        ("investigation", {"sources-0-on": TODAY}, "Varje källa behöver anges med sitt slag."),
        ("investigation", {"sources-0-kind": "astrology", "sources-0-on": TODAY}, INVALID),
        ("investigation", {"phase": "courtroom"}, INVALID),
        ("voices", {"child_view": "Fiktiv syn"}, "Ange hur och när barnet hördes."),
        ("voices", {"guardians-0-view": "Fiktiv"}, "Ange hur och när varje syn inhämtades."),
        (
            "voices",
            {"child_heard_on": TOMORROW, "child_view": "x", "child_how": "phone"},
            "Datumet",
        ),
    ]
    for page, fields, message in cases:
        shown = _save(client, db, assessment.id, page, **fields)
        assert "Ingenting sparades." in shown, (page, fields)
        assert message in shown, (page, fields, re.findall(r"class=\"error\"[^>]*>([^<]*)<", shown))
        assert lock_version(db, str(assessment.id)) == before


def test_submission_names_what_the_record_lacks(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    people = staff(world)
    assessment = draft(world, people.owner, world.case(people.owner))
    login("cw.north")
    path = f"/assessments/{assessment.id}"
    refused = client.post(
        f"{path}/submit", data={"csrf_token": csrf(client, path)}, follow_redirects=True
    ).get_data(as_text=True)
    for gap in (
        "BBIC-skedet behövs",
        "Utredningens diarienummer behövs",
        "Minst en informationskälla behövs",
        "Barnets syn, eller varför den inte gick att få, behövs",
        "En vårdnadshavares syn, eller varför ingen gick att få, behövs",
        "Bedömningens slag av risk och tidsram behövs",
    ):
        assert gap in refused
    fill_record(client, db, str(assessment.id))
    again = client.post(
        f"{path}/submit", data={"csrf_token": csrf(client, path)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "BBIC-skedet behövs" not in again and "Barnets syn, eller" not in again


def test_the_judgement_records_the_kind_of_risk_and_the_timeframe(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    people = staff(world)
    assessment = draft(world, people.owner, world.case(people.owner))
    login("cw.north")
    fields = {"judgement_level": "high", "judgement_reason": "Fiktiv"}
    shown = _save(
        client, db, assessment.id, "judgement", risk_kind="other", risk_months="3", **fields
    )
    assert "Ingenting sparades." not in shown
    assert _content(world, assessment)["risk"] == {
        "kind": "other",
        "description": "",
        "months": "3",
    }
    # "Other" without words is saved (a draft may be unfinished) but blocks submission.
    path = f"/assessments/{assessment.id}"
    refused = client.post(
        f"{path}/submit", data={"csrf_token": csrf(client, path)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Bedömningens slag av risk och tidsram behövs" in refused
    _save(
        client,
        db,
        assessment.id,
        "judgement",
        risk_kind="serious_violence",
        risk_months="6",
        **fields,
    )
    summary = client.get(path).get_data(as_text=True)
    assert "Allvarligt våld" in summary and "inom sex månader" in summary


def test_feedback_is_recorded_after_approval_sealed_and_audited_with_codes_only(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    people = staff(world)
    case = world.case(people.owner)
    waiting = submitted(world, people.owner, world.case(people.owner))
    done = approved(world, people.owner, people.supervisor, case)
    login("cw.north")
    words = "Fiktivt: pappan tycker att skolan överdriver"

    def post(assessment: Assessment, **fields: str) -> str:
        path = f"/assessments/{assessment.id}"
        return client.post(
            f"{path}/feedback",
            data={"csrf_token": csrf(client, path), **fields},
            follow_redirects=True,
        ).get_data(as_text=True)

    complete = {"to": "guardians", "on": TODAY, "how": "home_visit", "agreement": "partly"}
    # Disagreement must be noted; a date in the future and a made-up code are refused.
    assert "Anteckna vad de inte håller med om." in post(done, **complete)
    assert "Datumet kan inte vara senare än i dag." in post(done, **{**complete, "on": TOMORROW})
    assert INVALID in post(done, **{**complete, "how": "pigeon", "disagreement": words})
    # Not yet approved: refused with a message.
    assert "när bedömningen är godkänd" in post(waiting, **complete, disagreement=words)
    db.rollback()
    assert db.scalars(select(Feedback)).all() == []

    shown = post(done, **complete, disagreement=words)
    assert "Återkopplingen är registrerad." in shown
    assert words in shown and "Håller delvis med" in shown and "Hembesök" in shown
    db.rollback()
    [stored] = db.scalars(select(Feedback)).all()
    assert words.encode() not in stored.content
    [entry] = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "case:assessment_feedback:create")
    ).all()
    assert "pappan" not in entry.body
    assert entry_fields(entry.body)["details"] == {"agreement": "partly", "to": "guardians"}


def test_only_the_units_caseworkers_record_feedback(app: Flask, world: World, db: Session) -> None:
    people = staff(world)
    done = approved(world, people.owner, people.supervisor, world.case(people.owner))
    fields = {"to": "child", "on": TODAY, "how": "meeting", "agreement": "agrees"}
    for username, expected in (("cw.south", 403), ("sup.north", 403), ("cw.north2", 302)):
        client = app.test_client()
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")}
        assert client.post("/login", data=form).status_code == 302
        path = f"/assessments/{done.id}/feedback"
        answer = client.post(path, data={"csrf_token": csrf(client, "/cases"), **fields})
        assert answer.status_code == expected, username
    db.rollback()
    assert len(db.scalars(select(Feedback)).all()) == 1
