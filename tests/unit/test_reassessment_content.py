"""A reassessment's content: what it starts from, how items marked unchanged are checked, and
the keys of the rating page. Pure: instruments from the shipped files, no database."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from riskassess.assessments.content import (
    CARRIED,
    CONFIRMED,
    OMITTED,
    Content,
    ItemRating,
    PlanEntry,
    submission_problems,
    unchanged_problem,
)
from riskassess.assessments.forms import rating_keys
from riskassess.assessments.services import carried_forward, content_hash
from riskassess.config import SHIPPED_INSTRUMENTS
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import InstrumentRegistry, load_directories


@pytest.fixture(scope="module")
def shipped() -> InstrumentRegistry:
    return load_directories([SHIPPED_INSTRUMENTS])


def _instrument(shipped: InstrumentRegistry, instrument_id: str) -> Instrument:
    instrument = shipped.get(instrument_id, "1.0")
    assert instrument is not None
    return instrument


def _approved_content(instrument: Instrument) -> Content:
    """Every item rated with the scale's last level, a rationale, a source; a plan row."""
    items = {
        item.code: ItemRating(item.scale.levels[-1].code, f"Fiktiv motivering {item.code}", True)
        for item in instrument.items
    }
    items[instrument.items[0].code].sources = ["school"]
    plan = [PlanEntry([instrument.items[0].code], "Fiktiv insats", "Fiktiv ansvarig", "")]
    return Content(items, instrument.judgement_levels[0].code, "Fiktiv sammanfattning", plan=plan)


def test_only_confirmed_historical_items_are_carried_and_marked(
    shipped: InstrumentRegistry,
) -> None:
    savry = _instrument(shipped, "savry-style")
    previous = _approved_content(savry)
    start = carried_forward(savry, previous, ["H1", "H3"])
    assert set(start.items) == {"H1", "H3"}
    for code in ("H1", "H3"):
        carried = start.items[code]
        assert carried.unchanged == CARRIED
        assert (carried.rating, carried.rationale, carried.is_critical) == (
            previous.items[code].rating,
            previous.items[code].rationale,
            True,
        )
    # Every dynamic item starts unrated, whatever the previous assessment said.
    assert all(start.rating(item.code).rating is None for item in savry.items[10:])
    assert start.judgement_level is None and start.judgement_reason == ""
    # The plan is carried, as copies: changing the new one leaves the approved one alone.
    assert start.plan == previous.plan and start.plan[0] is not previous.plan[0]
    start.items["H1"].sources.append("police")
    assert previous.items["H1"].sources == ["school"]


@pytest.mark.parametrize("instrument_id", ["earl-20b-style", "earl-21g-style", "earl-v3-style"])
def test_an_instrument_without_historical_sections_carries_no_item(
    shipped: InstrumentRegistry, instrument_id: str
) -> None:
    earl = _instrument(shipped, instrument_id)
    assert earl.historical_codes == frozenset()
    start = carried_forward(earl, _approved_content(earl), [])
    assert start.items == {}
    assert len(start.plan) == 1


def test_a_previous_rating_the_scale_no_longer_offers_is_not_carried(
    shipped: InstrumentRegistry,
) -> None:
    savry = _instrument(shipped, "savry-style")
    previous = _approved_content(savry)
    previous.items["H1"] = replace(previous.items["H1"], rating="extreme")
    assert set(carried_forward(savry, previous, ["H1", "H2"]).items) == {"H2"}


def test_the_mark_is_stored_only_when_set_so_older_content_hashes_as_before() -> None:
    plain = Content({"H1": ItemRating("low", "Fiktiv", False, ["school"])})
    raw = plain.to_json()
    assert raw["items"]["H1"] == {
        "rating": "low",
        "rationale": "Fiktiv",
        "critical": False,
        "sources": ["school"],
    }
    # The hash of content stored before the mark existed is what it was then.
    before = {"items": {"H1": raw["items"]["H1"]}, **{k: v for k, v in raw.items() if k != "items"}}
    assert content_hash(Content.from_json(json.loads(json.dumps(before)))) == content_hash(plain)
    marked = Content({"H1": ItemRating("low", "Fiktiv kontroll", unchanged=CONFIRMED)})
    assert marked.to_json()["items"]["H1"]["unchanged"] == CONFIRMED
    assert Content.from_json(marked.to_json()) == marked
    # A mark the code does not know (tampered or future data) is read as none.
    raw = marked.to_json()
    raw["items"]["H1"]["unchanged"] = "whatever"
    assert Content.from_json(raw).rating("H1").unchanged == ""


def test_an_item_confirmed_unchanged_needs_the_previous_rating_and_a_fresh_note(
    shipped: InstrumentRegistry,
) -> None:
    savry = _instrument(shipped, "savry-style")
    item = savry.item("K1")
    assert item is not None
    previous = Content({"K1": ItemRating("moderate", "Fiktiv motivering om kamraterna")})
    fresh = ItemRating("moderate", "Fiktiv kontroll: samtal med skolan.", unchanged=CONFIRMED)
    assert unchanged_problem(item, fresh, previous) is None
    # The old text again, in other spacing or case, is no note on what was checked.
    copied = replace(fresh, rationale="  fiktiv motivering   OM kamraterna ")
    assert unchanged_problem(item, copied, previous) == "no_fresh_note"
    assert unchanged_problem(item, replace(fresh, rating="high"), previous) == "not_previous"
    assert unchanged_problem(item, fresh, Content()) == "not_previous"
    # Carried historical items keep their rationale: the confirmation came at the start.
    carried = ItemRating("moderate", "Fiktiv motivering om kamraterna", unchanged=CARRIED)
    assert unchanged_problem(item, carried, previous) is None
    # Without a previous assessment (a correction) there is nothing to check against.
    assert unchanged_problem(item, copied, None) is None
    # An item rated afresh is never checked against the previous rating.
    assert unchanged_problem(item, replace(copied, unchanged=""), previous) is None


def test_submission_names_the_items_whose_mark_does_not_stand(
    shipped: InstrumentRegistry,
) -> None:
    savry = _instrument(shipped, "savry-style")
    previous = _approved_content(savry)
    content = _approved_content(savry)
    for code in ("K1", "K2"):
        content.items[code] = replace(content.items[code], unchanged=CONFIRMED)
    content.items["K2"] = replace(content.items["K2"], rationale="Fiktiv kontroll med polisen")
    content.items["K3"] = replace(content.items["K3"], rating=OMITTED, unchanged=CONFIRMED)

    def item_problems(previous: Content | None) -> set[tuple[str | None, str]]:
        problems = submission_problems(savry, content, previous)
        return {(p.item, p.kind) for p in problems if p.item is not None}

    assert item_problems(previous) == {("K1", "no_fresh_note"), ("K3", "not_previous")}
    assert item_problems(None) == set()  # no previous: a correction's content


def test_an_untouched_reassessment_cannot_be_submitted(shipped: InstrumentRegistry) -> None:
    savry = _instrument(shipped, "savry-style")
    previous = _approved_content(savry)
    start = carried_forward(savry, previous, sorted(savry.historical_codes))
    start = replace(start, judgement_level="low", judgement_reason="Fiktiv")
    unrated = {p.item for p in submission_problems(savry, start, previous) if p.kind == "unrated"}
    assert unrated == {item.code for item in savry.items} - savry.historical_codes


def test_rating_keys_follow_the_scale_order(shipped: InstrumentRegistry) -> None:
    savry = _instrument(shipped, "savry-style")
    risk, protective = savry.item("H1"), savry.item("S1")
    assert risk is not None and protective is not None
    assert rating_keys(risk) == {"low": "0", "moderate": "1", "high": "2", OMITTED: "-"}
    assert rating_keys(protective) == {"present": "1", "absent": "2", OMITTED: "-"}
    earl = _instrument(shipped, "earl-20b-style")
    assert rating_keys(earl.items[0]) == {"0": "0", "1": "1", "2": "2", OMITTED: "-"}
    for instrument in shipped.all():
        for item in instrument.items:
            keys = rating_keys(item)
            assert len(set(keys.values())) == len(keys) == len(item.scale.levels) + 1
