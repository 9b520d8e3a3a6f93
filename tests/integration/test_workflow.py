"""The daily workflow: sections, judgement and plan, withdrawal, correction, reassessment,
comparison, printing, case lists, protected identity, emergency access."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case, CaseAccess
from riskassess.cases.services import open_identity
from riskassess.core.audit import AuditEntry
from riskassess.errors import WorkflowError
from tests.conftest import PASSWORD, World, csrf, lock_version
from tests.integration.casework import with_record

SAVRY = ("savry-style", "1.0")


def _cast(world: World) -> tuple[User, User, Case]:
    north, south = world.unit("nord"), world.unit("syd")
    owner = world.user("cw.north", "caseworker", north)
    world.user("cw.north2", "caseworker", north)
    world.user("cw.south", "caseworker", south)
    supervisor = world.user("sup.north", "supervisor", north)
    return owner, supervisor, world.case(owner)


def _complete(world: World, rating: str = "moderate") -> Content:
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    items = {
        item.code: ItemRating(
            rating if item.scale.kind == "risk" else "present",
            "Fiktiv motivering",
            False,
            ["school"],
        )
        for item in instrument.items
    }
    return with_record(Content(items, "moderate", "Fiktiv sammanfattning"))


def _approved(
    world: World, owner: User, supervisor: User, case: Case, rating: str = "moderate"
) -> Assessment:
    session, vault = world.session, world.vault
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessment = assessments.start_assessment(session, vault, owner, case, instrument)
    assessments.save_assessment(
        session, vault, owner, case, assessment, _complete(world, rating), assessment.lock_version
    )
    assessments.submit_assessment(session, vault, owner, case, assessment, instrument)
    assessments.approve_assessment(
        session, vault, world.passwords, supervisor, case, assessment, instrument, "", PASSWORD
    )
    session.commit()
    return assessment


def _draft(world: World, owner: User, case: Case) -> Assessment:
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessment = assessments.start_assessment(world.session, world.vault, owner, case, instrument)
    world.session.commit()
    return assessment


def _audit(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_saving_one_section_keeps_the_others(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, _sup, case = _cast(world)
    assessment = _draft(world, owner, case)
    login("cw.north")
    for domain, item in (("H", "H1"), ("K", "K1")):
        path = f"/assessments/{assessment.id}/rate/{domain}"
        response = client.post(
            path,
            data={
                "csrf_token": csrf(client, path),
                "lock_version": str(lock_version(db, str(assessment.id))),
                f"rating_{item}": "high",
                f"rationale_{item}": f"Fiktiv {item}",
                f"sources_{item}": ["child", "police"],
            },
        )
        assert response.status_code == 302
    db.rollback()
    content = assessments.open_content(db, world.vault, case, db.get(Assessment, assessment.id))  # type: ignore[arg-type]
    assert content.rating("H1").rating == "high" and content.rating("K1").rating == "high"
    assert content.rating("K1").sources == ["child", "police"]


def test_bad_plan_row_changes_nothing(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, _sup, case = _cast(world)
    assessment = _draft(world, owner, case)
    before = lock_version(db, str(assessment.id))
    login("cw.north")
    path = f"/assessments/{assessment.id}/judgement"
    response = client.post(
        path,
        data={
            "csrf_token": csrf(client, path),
            "lock_version": str(before),
            "judgement_level": "low",
            "plan-0-responsible": "Fiktiv ansvarig",
            "plan-0-follow_up": "inte ett datum",
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ingenting sparades" in page
    assert "Varje planerad insats behöver en beskrivning" in page
    assert lock_version(db, str(assessment.id)) == before


def test_withdrawal_needs_a_reason(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, _sup, case = _cast(world)
    assessment = _draft(world, owner, case)
    login("cw.north")
    path = f"/assessments/{assessment.id}"
    client.post(f"{path}/withdraw", data={"csrf_token": csrf(client, path), "reason": " "})
    db.rollback()
    assert db.get(Assessment, assessment.id).state == "draft"  # type: ignore[union-attr]
    client.post(
        f"{path}/withdraw", data={"csrf_token": csrf(client, path), "reason": "Fel barn valt"}
    )
    db.rollback()
    assert db.get(Assessment, assessment.id).state == "withdrawn"  # type: ignore[union-attr]
    assert "Fel barn valt" in client.get(path).get_data(as_text=True)
    assert _audit(db, "case:assessment:withdraw")


def test_correction_is_a_new_version_and_supersedes_when_approved(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, supervisor, case = _cast(world)
    approved = _approved(world, owner, supervisor, case)
    login("cw.north")
    path = f"/assessments/{approved.id}"
    refused = client.post(f"{path}/correct", data={"csrf_token": csrf(client, path), "reason": ""})
    assert refused.status_code == 302
    response = client.post(
        f"{path}/correct",
        data={"csrf_token": csrf(client, path), "reason": "Fiktiv felskrivning i H3"},
    )
    correction_id = uuid.UUID(response.headers["Location"].split("/")[2])
    db.rollback()
    correction = db.get(Assessment, correction_id)
    assert correction is not None
    assert correction.kind == "correction" and correction.previous_id == approved.id
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessments.submit_assessment(db, world.vault, owner, case, correction, instrument)
    supervisor = db.get(User, supervisor.id)  # type: ignore[assignment]
    assessments.approve_assessment(
        db, world.vault, world.passwords, supervisor, case, correction, instrument, "", PASSWORD
    )
    db.commit()
    db.rollback()
    assert db.get(Assessment, approved.id).state == "superseded"  # type: ignore[union-attr]
    old_page = client.get(path)
    assert old_page.status_code == 200 and "Ersatt" in old_page.get_data(as_text=True)
    assert "Fiktiv felskrivning i H3" in client.get(f"/assessments/{correction_id}").get_data(
        as_text=True
    )


def test_reassessment_carries_historical_items_only_when_confirmed(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, supervisor, case = _cast(world)
    _approved(world, owner, supervisor, case, rating="high")
    login("cw.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Ombedömning" in page
    response = client.post(
        f"/cases/{case.id}/assessments",
        data={
            "csrf_token": csrf(client, f"/cases/{case.id}"),
            "instrument": "savry-style@1.0",
            "carry": ["H1", "H2"],
        },
    )
    new_id = uuid.UUID(response.headers["Location"].split("/")[2])
    db.rollback()
    new = db.get(Assessment, new_id)
    assert new is not None and new.kind == "reassessment"
    content = assessments.open_content(db, world.vault, case, new)
    assert content.rating("H1").rating == "high" and content.rating("H2").rating == "high"
    assert content.rating("H1").unchanged == "carried"
    assert content.rating("H3").rating is None  # historical, not confirmed
    assert content.rating("K1").rating is None  # dynamic items are rated again
    assert content.judgement_level is None  # the judgement is always made anew


def test_comparison_highlights_changes(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, supervisor, case = _cast(world)
    _approved(world, owner, supervisor, case, rating="high")
    _approved(world, owner, supervisor, case, rating="low")
    login("sup.north")
    page = client.get(f"/cases/{case.id}/compare").get_data(as_text=True)
    assert page.count('class="changed"') >= 24  # every risk item went from High to Low
    assert "<svg" in page
    assert _audit(db, "case:assessment:compare")


def test_report_is_audited_as_a_print(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, supervisor, case = _cast(world)
    approved = _approved(world, owner, supervisor, case)
    login("cw.north")
    page = client.get(f"/assessments/{approved.id}/report").get_data(as_text=True)
    assert approved.content_hash and approved.content_hash in page
    assert approved.instrument_hash in page and "Signaturer" in page
    assert _audit(db, "case:assessment:print")


def test_queue_shows_warnings(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, _sup, case = _cast(world)
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    content = _complete(world, rating="high")
    content.judgement_level = "low"
    content.rule_reasons["low-with-high-items"] = "Fiktivt skäl"
    content.items["H1"].is_critical = True
    assessment = assessments.start_assessment(db, world.vault, owner, case, instrument)
    assessments.save_assessment(
        db, world.vault, owner, case, assessment, content, assessment.lock_version
    )
    assessments.submit_assessment(db, world.vault, owner, case, assessment, instrument)
    db.commit()
    login("sup.north")
    page = client.get("/reviews").get_data(as_text=True)
    assert "1 varning om motstridiga uppgifter" in page and "1 kritisk punkt" in page


def test_case_list_pages_and_filters(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _owner, _sup, _case = _cast(world)
    other = db.scalar(select(User).where(User.username == "cw.north2"))
    assert other is not None
    for n in range(26):
        world.case(other, name=f"Fiktiv Person {n}")
    login("cw.north")
    first = client.get("/cases").get_data(as_text=True)
    assert "27 ärenden" in first and "Sida 1 av 2" in first
    second = client.get("/cases?page=2").get_data(as_text=True)
    assert "Sida 2 av 2" in second
    mine = client.get("/cases?scope=mine").get_data(as_text=True)
    assert "1 ärende" in mine and "Testa Fiktivdotter" in mine
    assert client.get("/cases?page=abc").status_code == 200


def test_protected_identity_needs_a_reason_each_time(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _owner, _sup, case = _cast(world)
    case.is_protected = True
    world.session.commit()
    login("cw.north")
    listing = client.get("/cases").get_data(as_text=True)
    assert "Testa Fiktivdotter" not in listing and "Skyddad identitet" in listing
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Testa Fiktivdotter" not in page
    token = csrf(client, f"/cases/{case.id}")
    shown = client.post(
        f"/cases/{case.id}/reveal", data={"csrf_token": token, "purpose": "case_handling"}
    )
    assert "Testa Fiktivdotter" in shown.get_data(as_text=True)
    assert "Testa Fiktivdotter" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    reads = [e for e in _audit(db, "case:case:read") if '"purpose":"case_handling"' in e.body]
    assert len(reads) == 1 and "Testa" not in reads[0].body

    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("cw.north2")  # same unit, not the assigned caseworker
    token = csrf(client, f"/cases/{case.id}")
    refused = client.post(
        f"/cases/{case.id}/reveal", data={"csrf_token": token, "purpose": "other"}
    )
    assert refused.status_code == 403
    assert "Testa Fiktivdotter" not in refused.get_data(as_text=True)


def test_case_with_open_work_cannot_be_closed(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, _sup, case = _cast(world)
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    assessments.start_assessment(db, world.vault, owner, case, instrument)
    db.commit()
    login("cw.north")
    path = f"/cases/{case.id}"
    refused = client.post(
        f"{path}/close", data={"csrf_token": csrf(client, path)}, follow_redirects=True
    )
    assert "inte är klara" in refused.get_data(as_text=True)
    db.rollback()
    assert db.get(Case, case.id).status == "open"  # type: ignore[union-attr]


@pytest.mark.parametrize("note", ["", "Fiktivt akut skyddsbehov"])
def test_emergency_access_is_granted_logged_and_followed_up(
    note: str, client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _owner, _sup, case = _cast(world)
    login("cw.south")
    assert client.get(f"/cases/{case.id}").status_code == 403
    pnr = open_identity(db, world.vault, case).personnummer_display
    response = client.post(
        "/emergency",
        data={
            "csrf_token": csrf(client, "/emergency"),
            "personnummer": pnr,
            "purpose": "urgent_protection",
            "note": note,
        },
    )
    if not note:
        assert response.status_code == 200
        assert client.get(f"/cases/{case.id}").status_code == 403
        return
    assert response.status_code == 302 and str(case.id) in response.headers["Location"]
    assert "Testa Fiktivdotter" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.get(f"/cases/{case.id}/compare").status_code == 200
    assert _audit(db, "case:case:emergency")

    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("sup.north")
    queue = client.get("/reviews").get_data(as_text=True)
    assert case.reference in queue and "Akut skydd" in queue
    access = db.scalar(select(CaseAccess))
    assert access is not None
    client.post(f"/case-access/{access.id}/review", data={"csrf_token": csrf(client, "/reviews")})
    db.rollback()
    assert (
        db.scalar(
            select(func.count()).select_from(CaseAccess).where(CaseAccess.reviewed_dt.is_(None))
        )
        == 0
    )


def test_approved_content_is_frozen(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner, supervisor, case = _cast(world)
    approved = _approved(world, owner, supervisor, case)
    login("cw.north")
    path = f"/assessments/{approved.id}/rate/H"
    response = client.post(
        path,
        data={
            "csrf_token": csrf(client, f"/assessments/{approved.id}"),
            "lock_version": str(lock_version(db, str(approved.id))),
            "rating_H1": "low",
        },
        follow_redirects=True,
    )
    assert "kan inte längre ändras" in response.get_data(as_text=True)
    db.rollback()
    stored = db.get(Assessment, approved.id)
    assert stored is not None
    content = assessments.open_content(db, world.vault, case, stored)
    assert content.rating("H1").rating == "moderate"
    assert assessments.content_hash(content) == stored.content_hash


@pytest.mark.parametrize("step", ["submit", "withdraw", "return"])
def test_refused_transitions_change_nothing(world: World, db: Session, step: str) -> None:
    owner, supervisor, case = _cast(world)
    approved = _approved(world, owner, supervisor, case)
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    with pytest.raises(WorkflowError):
        if step == "submit":
            assessments.submit_assessment(db, world.vault, owner, case, approved, instrument)
        elif step == "withdraw":
            assessments.withdraw_assessment(db, world.vault, owner, case, approved, "Fiktivt")
        else:
            assessments.return_assessment(db, world.vault, supervisor, case, approved, "Fiktivt")
    db.rollback()
    assert db.get(Assessment, approved.id).state == "approved"  # type: ignore[union-attr]
