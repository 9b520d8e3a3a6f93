"""A stored rating or judgement that the instrument does not know (saved before the forms
refused blanks, or altered since) never counts as complete and never breaks a page: it reads
"invalid value" on the summary, the report, the comparison and the reassessment offer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.assessments.content import (
    OMITTED,
    Content,
    ItemRating,
    is_valid_judgement,
    is_valid_rating,
    progress,
    submission_problems,
)
from riskassess.assessments.forms import domain_form, judgement_form
from riskassess.assessments.models import Assessment
from riskassess.assessments.workflow import State
from riskassess.instruments.loader import InstrumentRegistry
from tests.conftest import World, csrf
from tests.integration.casework import with_record

UNKNOWN_VALUES = (" ", "\t", "\u3000", "extreme")


def _complete(registry: InstrumentRegistry) -> Content:
    instrument = registry.get("savry-style", "1.0")
    assert instrument is not None
    return with_record(
        Content(
            {
                item.code: ItemRating(item.scale.levels[0].code, "Fiktiv")
                for item in instrument.items
            },
            "low",
            "Fiktiv sammanfattning",
        )
    )


def test_complete_means_what_the_forms_offer(app: object, world: World) -> None:
    """The rating and judgement forms offer exactly the values that count as given."""
    for instrument in world.registry.all():
        empty = Content()
        for domain in instrument.domains:
            with app.test_request_context():  # type: ignore[attr-defined]
                form = domain_form(instrument, domain, "sv", empty, 1)
            for item in domain.items:
                offered = {choice.value for choice in form[f"rating_{item.code}"].choices}
                assert offered == {lvl.code for lvl in item.scale.levels} | {OMITTED}
                assert all(is_valid_rating(item, value) for value in offered)
                assert not any(is_valid_rating(item, value) for value in (None, *UNKNOWN_VALUES))
        with app.test_request_context():  # type: ignore[attr-defined]
            form = judgement_form(instrument, "sv", empty, 1)
        offered = {choice.value for choice in form.judgement_level.choices}
        assert offered == {lvl.code for lvl in instrument.judgement_levels}
        assert all(is_valid_judgement(instrument, value) for value in offered)
        assert not any(is_valid_judgement(instrument, v) for v in (None, *UNKNOWN_VALUES))


@pytest.mark.parametrize("value", UNKNOWN_VALUES)
def test_an_unknown_value_is_not_a_rating(world: World, value: str) -> None:
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    content = _complete(world.registry)
    assert submission_problems(instrument, content) == []
    items = dict(content.items)
    items["H1"] = replace(items["H1"], rating=value)
    broken = replace(content, items=items, judgement_level=value)
    kinds = {(p.item, p.kind) for p in submission_problems(instrument, broken)}
    assert kinds == {("H1", "invalid"), (None, "invalid_judgement")}
    done = progress(instrument, broken)
    assert done.left == 1 and done.rated == len(instrument.items) - 1


def _stored_with(world: World, value: str) -> tuple[Assessment, object]:
    """An assessment of the matrix's kind whose H1 and judgement hold `value`."""
    north = world.unit("nord")
    owner = world.user("cw.north", "caseworker", north)
    world.user("sup.north", "supervisor", north)
    case = world.case(owner)
    session, vault = world.session, world.vault
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    assessment = assessments.start_assessment(session, vault, owner, case, instrument)
    content = _complete(world.registry)
    items = dict(content.items)
    items["H1"] = replace(items["H1"], rating=value)
    assessments.save_assessment(
        session,
        vault,
        owner,
        case,
        assessment,
        replace(content, items=items, judgement_level=value),
        assessment.lock_version,
    )
    session.commit()
    return assessment, case


def test_an_unknown_value_cannot_be_submitted(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    assessment, _case = _stored_with(world, "\u3000")
    login("cw.north")
    path = f"/assessments/{assessment.id}"
    response = client.post(f"{path}/submit", data={"csrf_token": csrf(client, path)})
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "Inget värde i instrumentet, bedöm igen: H1." in page
    db.rollback()
    stored = db.get(Assessment, assessment.id)
    assert stored is not None and stored.state == State.DRAFT.value


@pytest.mark.parametrize("value", UNKNOWN_VALUES)
def test_an_approved_record_with_an_unknown_value_still_opens(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None], value: str
) -> None:
    assessment, case = _stored_with(world, value)
    # As the old forms let it happen: submitted and approved with the blank value in it.
    stored = world.session.get(Assessment, assessment.id)
    assert stored is not None
    stored.state = State.APPROVED.value
    world.session.commit()
    pages = {
        "sup.north": ("", "/report", "compare"),
        # The caseworker's case page offers the historical items to carry forward.
        "cw.north": ("case",),
    }
    for username, paths in pages.items():
        login(username)
        for path in paths:
            url = (
                f"/cases/{case.id}/compare"  # type: ignore[attr-defined]
                if path == "compare"
                else f"/cases/{case.id}"  # type: ignore[attr-defined]
                if path == "case"
                else f"/assessments/{assessment.id}{path}"
            )
            response = client.get(url)
            body = response.get_data(as_text=True)
            assert response.status_code == 200, (url, body[-2000:])
            assert "Ogiltigt värde" in body, url
        client.post("/logout", data={"csrf_token": csrf(client, "/instruments")})
