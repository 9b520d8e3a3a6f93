"""A reassessment makes the rater look again: items start unrated beside the previous rating,
"unchanged, confirm" takes the previous rating only with a fresh note, historical items are
carried only when confirmed (EARL has none), an untouched reassessment cannot be submitted,
and the plan may link protective factors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.content import CONFIRMED, Content, ItemRating, applicable_rules
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import PASSWORD, World, csrf, lock_version
from tests.integration.casework import approved, staff, with_record

PREVIOUS_RATIONALE = "Fiktiv motivering"  # what casework.complete() writes for every item
# WTForms writes the attributes in order: a checked input starts with it.
CHECKED_RADIO = re.compile(r'<input checked[^>]*name="rating_')


def _start_again(
    client: FlaskClient,
    case: Case,
    instrument: str = "savry-style@1.0",
    carry: tuple[str, ...] = (),
) -> uuid.UUID:
    response = client.post(
        f"/cases/{case.id}/assessments",
        data={
            "csrf_token": csrf(client, f"/cases/{case.id}"),
            "instrument": instrument,
            "carry": list(carry),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return uuid.UUID(response.headers["Location"].split("/")[2])


def _content(db: Session, world: World, case: Case, assessment_id: uuid.UUID) -> Content:
    db.rollback()
    found = db.get(Assessment, assessment_id)
    assert found is not None
    return assessments.open_content(db, world.vault, case, found)


def _rate(
    client: FlaskClient, db: Session, assessment_id: uuid.UUID, domain: str, fields: dict[str, str]
) -> tuple[int, str]:
    path = f"/assessments/{assessment_id}/rate/{domain}"
    response = client.post(
        path,
        data={
            "csrf_token": csrf(client, path),
            "lock_version": str(lock_version(db, str(assessment_id))),
            **fields,
        },
    )
    return response.status_code, response.get_data(as_text=True)


def test_items_start_unrated_beside_their_previous_rating(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    first = approved(world, team.owner, team.supervisor, case, plan=[("Fiktiv insats", None)])
    login("cw.north")
    new_id = _start_again(client, case, carry=("H1",))
    content = _content(db, world, case, new_id)
    assert content.rating("H1").rating == "moderate" and content.rating("H1").unchanged == "carried"
    assert [code for code, r in content.items.items() if r.rating is not None] == ["H1"]
    assert [entry.intervention for entry in content.plan] == ["Fiktiv insats"]
    assert content.judgement_level is None

    db.rollback()
    reads_before = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "case:assessment:read", AuditEntry.object_id == str(first.id)
        )
    ).all()
    page = client.get(f"/assessments/{new_id}/rate/K").get_data(as_text=True)
    # Each of the six items shows its previous rating and rationale, and offers the confirmation.
    assert page.count("<strong>Tidigare:</strong> Medel") == 6
    assert page.count(PREVIOUS_RATIONALE) == 6
    assert page.count('name="unchanged_K') == 6
    assert not CHECKED_RADIO.search(page)  # nothing is rated yet
    assert '<span class="done">0</span> av 6 bedömda i det här avsnittet' in page
    # Reading the previous assessment beside it is audited, naming why.
    db.rollback()
    reads = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "case:assessment:read", AuditEntry.object_id == str(first.id)
        )
    ).all()
    assert len(reads) == len(reads_before) + 1
    assert entry_fields(reads[-1].body)["details"] == {"purpose": "reassessment"}

    # The historical section: the carried item says so and is not offered again to confirm.
    history = client.get(f"/assessments/{new_id}/rate/H").get_data(as_text=True)
    assert "Förd vidare: när du påbörjade ombedömningen" in history
    assert 'name="unchanged_H1"' not in history and 'name="unchanged_H2"' in history


def test_confirming_unchanged_takes_the_previous_rating_only_with_a_fresh_note(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case)
    login("cw.north")
    new_id = _start_again(client, case)
    before = lock_version(db, str(new_id))

    refusals = {
        "no note": {"unchanged_K1": "y"},
        "the old text again": {
            "unchanged_K1": "y",
            "rationale_K1": "  fiktiv   MOTIVERING ",
        },
    }
    for fields in refusals.values():
        status, page = _rate(client, db, new_id, "K", fields)
        assert status == 200 and "Ingenting sparades" in page
        assert "Skriv vad du har kontrollerat den här gången" in page
    status, page = _rate(
        client,
        db,
        new_id,
        "K",
        {"unchanged_K1": "y", "rating_K1": "high", "rationale_K1": "Fiktiv kontroll"},
    )
    assert status == 200 and "men valde en annan bedömning" in page
    assert lock_version(db, str(new_id)) == before  # nothing of the above was saved

    # Without JavaScript the rating is left empty: the confirmation sets the previous one.
    note = "Fiktiv kontroll: samtal med skolan, inget nytt."
    status, _page = _rate(client, db, new_id, "K", {"unchanged_K1": "y", "rationale_K1": note})
    assert status == 302
    k1 = _content(db, world, case, new_id).rating("K1")
    assert (k1.rating, k1.rationale, k1.unchanged) == ("moderate", note, CONFIRMED)
    assert "Bekräftad oförändrad" in client.get(f"/assessments/{new_id}").get_data(as_text=True)
    form = client.get(f"/assessments/{new_id}/rate/K").get_data(as_text=True)
    assert re.search(r'<input [^>]*checked[^>]*name="unchanged_K1"', form)

    # Taking the confirmation back keeps the rating, without the mark.
    fields = {"rating_K1": "moderate", "rationale_K1": note}
    assert _rate(client, db, new_id, "K", fields)[0] == 302
    assert _content(db, world, case, new_id).rating("K1").unchanged == ""


def test_an_untouched_reassessment_cannot_be_submitted(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case)
    login("cw.north")
    new_id = _start_again(client, case, carry=("H1", "H2"))
    path = f"/assessments/{new_id}/judgement"
    client.post(
        path,
        data={
            "csrf_token": csrf(client, path),
            "lock_version": str(lock_version(db, str(new_id))),
            "judgement_level": "moderate",
            "judgement_reason": "Fiktiv sammanfattning",
        },
    )
    show = f"/assessments/{new_id}"
    page = client.post(
        f"{show}/submit", data={"csrf_token": csrf(client, show)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Ännu inte bedömda: H3, H4, H5" in page
    db.rollback()
    assert db.get(Assessment, new_id).state == "draft"  # type: ignore[union-attr]


def test_submission_checks_the_marks_against_the_previous_assessment(
    world: World, db: Session
) -> None:
    """The service refuses what the form never lets through: a mark whose rating is not the
    previous one, or a confirmation with the previous rationale only."""
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    again = assessments.start_assessment(world.session, world.vault, team.owner, case, instrument)
    items = {
        item.code: ItemRating("moderate" if item.scale.kind == "risk" else "present", "Ny")
        for item in instrument.items
    }
    items["K1"] = ItemRating("moderate", PREVIOUS_RATIONALE, unchanged=CONFIRMED)
    items["K2"] = ItemRating("high", "Fiktiv kontroll", unchanged=CONFIRMED)
    content = with_record(Content(items, "moderate", "Fiktiv sammanfattning"))
    assessments.save_assessment(
        world.session, world.vault, team.owner, case, again, content, again.lock_version
    )
    try:
        assessments.submit_assessment(
            world.session, world.vault, team.owner, case, again, instrument
        )
    except assessments.IncompleteAssessment as exc:
        kinds = {(p.item, p.kind) for p in exc.problems}
    else:
        raise AssertionError("submitted with marks that do not stand")
    assert kinds == {("K1", "no_fresh_note"), ("K2", "not_previous")}


def _approved_earl(world: World, owner: User, supervisor: User, case: Case) -> Assessment:
    session, vault = world.session, world.vault
    earl = world.registry.get("earl-20b-style", "1.0")
    assert earl is not None
    assessment = assessments.start_assessment(session, vault, owner, case, earl)
    content = with_record(
        Content(
            {item.code: ItemRating(item.scale.levels[1].code, "Fiktiv") for item in earl.items},
            earl.judgement_levels[1].code,
            "Fiktiv sammanfattning",
        )
    )
    content.rule_reasons = {rule.id: "Fiktiv" for rule in applicable_rules(earl, content)}
    assessments.save_assessment(
        session, vault, owner, case, assessment, content, assessment.lock_version
    )
    assessments.submit_assessment(session, vault, owner, case, assessment, earl)
    assessments.approve_assessment(
        session, vault, world.passwords, supervisor, case, assessment, earl, "", PASSWORD
    )
    session.commit()
    return assessment


def test_an_earl_reassessment_carries_no_item(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner, age=9, sex="male")
    _approved_earl(world, team.owner, team.supervisor, case)
    login("cw.north")
    # EARL has no historical section: the case page offers nothing to carry forward.
    assert 'name="carry"' not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    new_id = _start_again(client, case, instrument="earl-20b-style@1.0")
    db.rollback()
    assert db.get(Assessment, new_id).kind == "reassessment"  # type: ignore[union-attr]
    assert _content(db, world, case, new_id).items == {}
    page = client.get(f"/assessments/{new_id}/rate/F").get_data(as_text=True)
    assert page.count("<strong>Tidigare:</strong>") == 6
    assert not CHECKED_RADIO.search(page)


def test_the_plan_links_protective_factors_too(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    draft = assessments.start_assessment(
        world.session,
        world.vault,
        team.owner,
        case,
        world.registry.get("savry-style", "1.0"),  # type: ignore[arg-type]
    )
    world.session.commit()
    login("cw.north")
    path = f"/assessments/{draft.id}/judgement"
    page = client.get(path).get_data(as_text=True)
    assert "S1 Prosocialt engagemang (skyddsfaktor)" in page
    assert "K1 Kriminella kamrater (skyddsfaktor)" not in page
    response = client.post(
        path,
        data={
            "csrf_token": csrf(client, path),
            "lock_version": str(lock_version(db, str(draft.id))),
            "plan-0-intervention": "Fiktiv fritidsaktivitet",
            "plan-0-factors": ["K1", "S1"],
        },
    )
    assert response.status_code == 302
    assert _content(db, world, case, draft.id).plan[0].factors == ["K1", "S1"]
    summary = client.get(f"/assessments/{draft.id}").get_data(as_text=True)
    assert "K1, S1 (skyddsfaktor)" in summary
