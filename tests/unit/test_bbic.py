"""The case record around the ratings: what it stores, what it still lacks, and that content
approved before it existed still hashes as it did."""

from __future__ import annotations

import hashlib
import json

from riskassess.assessments.bbic import (
    HeardView,
    Investigation,
    RiskSpecification,
    Source,
    Voices,
    record_problems,
)
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.services import content_hash

DAY = "2026-03-02"


def _complete() -> tuple[Investigation, Voices, RiskSpecification]:
    return (
        Investigation("investigation", "IFO 2026/17", DAY, [Source("child", DAY)]),
        Voices(HeardView("Fiktiv syn", "meeting", DAY), guardians_not_heard="Fiktivt skäl"),
        RiskSpecification("serious_violence", "", "6"),
    )


def test_a_complete_record_lacks_nothing() -> None:
    assert record_problems(*_complete()) == []


def test_an_empty_record_names_every_gap_in_page_order() -> None:
    assert record_problems(Investigation(), Voices(), RiskSpecification()) == [
        "no_phase",
        "no_reference",
        "no_date",
        "no_sources",
        "no_child_view",
        "no_guardian_view",
        "no_risk_specification",
    ]


def test_a_reason_for_not_hearing_stands_in_for_the_view() -> None:
    investigation, _voices, risk = _complete()
    unheard = Voices(child_not_heard="Fiktivt: vill inte", guardians_not_heard="Fiktivt")
    assert record_problems(investigation, unheard, risk) == []
    blank = Voices(HeardView("   "), child_not_heard=" ", guardians=[HeardView(" ")])
    assert record_problems(investigation, blank, risk) == ["no_child_view", "no_guardian_view"]


def test_other_risk_needs_its_description_and_every_kind_its_timeframe() -> None:
    investigation, voices, _risk = _complete()
    assert record_problems(investigation, voices, RiskSpecification("other", "", "3")) == [
        "no_risk_specification"
    ]
    assert record_problems(investigation, voices, RiskSpecification("other", "Fiktivt", "3")) == []
    assert record_problems(investigation, voices, RiskSpecification("violence", "", None)) == [
        "no_risk_specification"
    ]


def test_records_only_means_no_interview_with_the_child_or_a_guardian() -> None:
    assert not Investigation(sources=[]).records_only  # nothing listed yet: nothing to say
    assert Investigation(sources=[Source("records", DAY), Source("police", DAY)]).records_only
    assert not Investigation(
        sources=[Source("records", DAY), Source("guardians", DAY)]
    ).records_only


def test_the_record_survives_its_json_and_unknown_codes_do_not() -> None:
    investigation, voices, risk = _complete()
    content = Content(investigation=investigation, voices=voices, risk=risk)
    raw = json.loads(json.dumps(content.to_json()))
    assert Content.from_json(raw) == content
    raw["investigation"]["phase"] = "courtroom"
    raw["investigation"]["assessed_on"] = "not a date"
    raw["investigation"]["sources"].append({"kind": "astrology", "on": DAY})
    raw["voices"]["child"]["how"] = "telepathy"
    raw["risk"]["months"] = "60"
    read = Content.from_json(raw)
    assert read.investigation.phase is None and read.investigation.assessed_on == ""
    assert [s.kind for s in read.investigation.sources] == ["child"]
    assert read.voices.child.how is None and read.risk.months is None


def test_content_approved_before_the_record_existed_hashes_as_it_did() -> None:
    """The hash of approved content is recomputed from the content: the empty record must
    not change a single byte of the JSON that was hashed at approval."""
    before = {
        "items": {"H1": {"rating": "low", "rationale": "Fiktiv", "critical": False, "sources": []}},
        "judgement": {"level": "low", "reason": "Fiktiv", "scenarios": ""},
        "additional": {"risk": "", "protective": ""},
        "rule_reasons": {},
        "plan": [],
    }
    content = Content.from_json(before)
    assert content.items["H1"] == ItemRating("low", "Fiktiv")
    assert content.to_json() == before
    canonical = json.dumps(before, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content_hash(content) == hashlib.sha256(canonical.encode()).hexdigest()
