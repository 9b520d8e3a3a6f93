"""The decrypted content of an assessment, the instrument's consistency rules applied to it,
and the checks made before submission. Pure: no database, no Flask."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskassess.assessments.bbic import (
    SOURCE_KINDS,
    Investigation,
    RiskSpecification,
    Voices,
    record_problems,
)
from riskassess.instruments.definition import Domain, Instrument, Item, Level, Rule

OMITTED = "omitted"
# Where the information behind a rating came from: the same kinds as the whole assessment's.
SOURCES = SOURCE_KINDS
# How a reassessment's item stands to the previous assessment's (ItemRating.unchanged):
# rated again as unchanged, with a fresh note on what was checked ...
CONFIRMED = "confirmed"
# ... or a historical item carried forward because the caseworker confirmed, when starting
# the reassessment, that it still holds.
CARRIED = "carried"
UNCHANGED_MARKS = (CONFIRMED, CARRIED)


@dataclass
class ItemRating:
    rating: str | None = None  # a level code of the item's scale, OMITTED, or None (not yet)
    rationale: str = ""
    is_critical: bool = False
    sources: list[str] = field(default_factory=list)
    unchanged: str = ""  # CONFIRMED, CARRIED, or "" (rated afresh, or not a reassessment)

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "rating": self.rating,
            "rationale": self.rationale,
            "critical": self.is_critical,
            "sources": list(self.sources),
        }
        # Only when set, so that content stored before the mark existed hashes as it did.
        if self.unchanged:
            raw["unchanged"] = self.unchanged
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ItemRating:
        mark = raw.get("unchanged", "")
        return cls(
            raw.get("rating"),
            raw.get("rationale", ""),
            bool(raw.get("critical", False)),
            list(raw.get("sources", [])),
            mark if mark in UNCHANGED_MARKS else "",
        )


@dataclass
class PlanEntry:
    """A planned intervention (insats) linked to the risk factors it addresses."""

    factors: list[str] = field(default_factory=list)
    intervention: str = ""
    responsible: str = ""
    follow_up: str = ""  # ISO date, or empty

    def to_json(self) -> dict[str, Any]:
        return {
            "factors": list(self.factors),
            "intervention": self.intervention,
            "responsible": self.responsible,
            "follow_up": self.follow_up,
        }


@dataclass
class Content:
    items: dict[str, ItemRating] = field(default_factory=dict)
    judgement_level: str | None = None
    judgement_reason: str = ""
    additional_risk: str = ""
    additional_protective: str = ""
    # Why the judgement stands although a consistency rule applies, by rule id.
    rule_reasons: dict[str, str] = field(default_factory=dict)
    scenarios: str = ""
    plan: list[PlanEntry] = field(default_factory=list)
    # The case record around the ratings (riskassess.assessments.bbic).
    investigation: Investigation = field(default_factory=Investigation)
    voices: Voices = field(default_factory=Voices)
    risk: RiskSpecification = field(default_factory=RiskSpecification)

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "items": {code: r.to_json() for code, r in self.items.items()},
            "judgement": {
                "level": self.judgement_level,
                "reason": self.judgement_reason,
                "scenarios": self.scenarios,
            },
            "additional": {"risk": self.additional_risk, "protective": self.additional_protective},
            "rule_reasons": dict(self.rule_reasons),
            "plan": [entry.to_json() for entry in self.plan],
        }
        # The case record's parts are left out while empty, so content approved before they
        # existed serializes, and hashes, exactly as it did when it was approved.
        for key, part, empty in (
            ("investigation", self.investigation, Investigation()),
            ("voices", self.voices, Voices()),
            ("risk", self.risk, RiskSpecification()),
        ):
            if part != empty:
                raw[key] = part.to_json()
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Content:
        items = {code: ItemRating.from_json(value) for code, value in raw.get("items", {}).items()}
        judgement = raw.get("judgement", {})
        additional = raw.get("additional", {})
        plan = [
            PlanEntry(
                list(entry.get("factors", [])),
                entry.get("intervention", ""),
                entry.get("responsible", ""),
                entry.get("follow_up", ""),
            )
            for entry in raw.get("plan", [])
        ]
        return cls(
            items,
            judgement.get("level"),
            judgement.get("reason", ""),
            additional.get("risk", ""),
            additional.get("protective", ""),
            dict(raw.get("rule_reasons", {})),
            judgement.get("scenarios", ""),
            plan,
            Investigation.from_json(raw.get("investigation") or {}),
            Voices.from_json(raw.get("voices") or {}),
            RiskSpecification.from_json(raw.get("risk") or {}),
        )

    def rating(self, code: str) -> ItemRating:
        return self.items.get(code, ItemRating())


def is_valid_rating(item: Item, code: str | None) -> bool:
    """A rating the rating form offers for the item: a level of its scale, or omitted."""
    return code == OMITTED or (code is not None and item.scale.level(code) is not None)


def is_valid_judgement(instrument: Instrument, code: str | None) -> bool:
    """A judgement the judgement form offers: one of the instrument's judgement levels."""
    return code is not None and instrument.judgement_level(code) is not None


@dataclass(frozen=True)
class Progress:
    rated: int
    omitted: int
    left: int


def progress(
    instrument: Instrument, content: Content, items: tuple[Item, ...] | None = None
) -> Progress:
    """Rated / omitted / left, over the whole instrument or the given items (one domain). A
    stored value the instrument does not know counts as left, as it does for submission."""
    counted = instrument.items if items is None else items
    rated = omitted = 0
    for item in counted:
        value = content.rating(item.code).rating
        if value == OMITTED:
            omitted += 1
        elif is_valid_rating(item, value):
            rated += 1
    return Progress(rated, omitted, len(counted) - rated - omitted)


def section_progress(instrument: Instrument, content: Content) -> list[tuple[Domain, Progress]]:
    """Progress per domain, for the section navigation."""
    return [(domain, progress(instrument, content, domain.items)) for domain in instrument.domains]


@dataclass(frozen=True)
class DomainProfile:
    """How many items of one domain got each level (and how many were omitted or left)."""

    domain: Domain
    counts: list[tuple[Level, int]]
    omitted: int
    left: int


def profile(instrument: Instrument, content: Content) -> list[DomainProfile]:
    rows = []
    for domain in instrument.domains:
        levels = domain.items[0].scale.levels if domain.items else ()
        counts = [
            (lvl, sum(1 for item in domain.items if content.rating(item.code).rating == lvl.code))
            for lvl in levels
        ]
        done = progress(instrument, content, domain.items)
        rows.append(DomainProfile(domain, counts, done.omitted, done.left))
    return rows


def rule_applies(rule: Rule, instrument: Instrument, content: Content) -> bool:
    if rule.kind == "max_omitted":
        return progress(instrument, content).omitted > rule.max_omitted
    if content.judgement_level not in rule.when_judgement:
        return False
    codes = rule.items or tuple(item.code for item in instrument.risk_items)
    matching = sum(1 for code in codes if content.rating(code).rating in rule.ratings)
    return matching >= rule.min_items


def applicable_rules(instrument: Instrument, content: Content) -> list[Rule]:
    """The instrument's consistency warnings for this content, in file order."""
    return [rule for rule in instrument.rules if rule_applies(rule, instrument, content)]


@dataclass(frozen=True)
class ResearchIndex:
    """Sum of the risk items' weights: for research and follow-up, never the judgement."""

    total: int
    maximum: int
    rated: int
    omitted: int


def research_index(instrument: Instrument, content: Content) -> ResearchIndex:
    total = rated = omitted = 0
    for item in instrument.risk_items:
        code = content.rating(item.code).rating
        if code == OMITTED:
            omitted += 1
            continue
        level = item.scale.level(code) if code else None
        if level is not None:
            rated += 1
            total += level.weight or 0
    maximum = sum(item.scale.max_weight for item in instrument.risk_items)
    return ResearchIndex(total, maximum, rated, omitted)


def same_text(first: str, second: str) -> bool:
    """The same words, whatever the spacing and case: a copied rationale, not a new one."""
    return " ".join(first.split()).casefold() == " ".join(second.split()).casefold()


def previous_rating(item: Item, previous: Content | None) -> ItemRating | None:
    """The item's rating in the assessment a reassessment started from, when that rating is
    one the item's scale still offers (the instrument version may have changed since)."""
    if previous is None:
        return None
    before = previous.items.get(item.code)
    if before is None or not is_valid_rating(item, before.rating):
        return None
    return before


def unchanged_problem(item: Item, rating: ItemRating, previous: Content | None) -> str | None:
    """Why an item marked as unchanged does not stand as such, or None.

    "not_previous": the rating is not the previous one (or that one is no longer valid);
    "no_fresh_note": confirmed unchanged on the rating page with the previous rationale again,
    instead of a note on what was checked this time. (An empty rationale is "no_rationale".)
    Without a previous assessment (a correction keeps the marks of the version it corrects)
    there is nothing to check against."""
    if not rating.unchanged or previous is None:
        return None
    before = previous_rating(item, previous)
    if before is None or before.rating != rating.rating:
        return "not_previous"
    if rating.unchanged == CONFIRMED and same_text(rating.rationale, before.rationale):
        return "no_fresh_note"
    return None


@dataclass(frozen=True)
class Problem:
    """Why an assessment cannot be submitted yet; `item` is None for the judgement."""

    item: str | None
    # "unrated", "invalid", "no_rationale", "not_previous", "no_fresh_note", "no_judgement",
    # "invalid_judgement", "no_reason", "rule", or one of bbic.record_problems' codes
    kind: str
    rule: Rule | None = None


def submission_problems(
    instrument: Instrument, content: Content, previous: Content | None = None
) -> list[Problem]:
    """What stands in the way of submitting. `previous`: for a reassessment, the content of
    the assessment it started from, against which items marked unchanged are checked."""
    problems: list[Problem] = []
    for item in instrument.items:
        rating = content.rating(item.code)
        if rating.rating is None:
            problems.append(Problem(item.code, "unrated"))
        elif not is_valid_rating(item, rating.rating):
            problems.append(Problem(item.code, "invalid"))
        elif not rating.rationale.strip():
            problems.append(Problem(item.code, "no_rationale"))
        elif kind := unchanged_problem(item, rating, previous):
            problems.append(Problem(item.code, kind))
    if content.judgement_level is None:
        problems.append(Problem(None, "no_judgement"))
    elif not is_valid_judgement(instrument, content.judgement_level):
        problems.append(Problem(None, "invalid_judgement"))
    elif not content.judgement_reason.strip():
        problems.append(Problem(None, "no_reason"))
    for rule in applicable_rules(instrument, content):
        if not content.rule_reasons.get(rule.id, "").strip():
            problems.append(Problem(None, "rule", rule))
    return problems


def case_problems(
    instrument: Instrument, content: Content, previous: Content | None = None
) -> list[Problem]:
    """What a real case's assessment lacks before submission: the ratings and judgement (see
    `submission_problems`), and the case record around them (a course participant's rating
    of a vignette has none)."""
    record = record_problems(content.investigation, content.voices, content.risk)
    problems = submission_problems(instrument, content, previous)
    return problems + [Problem(None, kind) for kind in record]


@dataclass(frozen=True)
class Summary:
    """Everything the summary page and the report show about the ratings, computed once."""

    progress: Progress
    profile: list[DomainProfile]
    warnings: list[Rule]
    research: ResearchIndex
    critical: list[Item]
    omitted: list[Item]


def summarize(instrument: Instrument, content: Content) -> Summary:
    return Summary(
        progress=progress(instrument, content),
        profile=profile(instrument, content),
        warnings=applicable_rules(instrument, content),
        research=research_index(instrument, content),
        critical=[i for i in instrument.items if content.rating(i.code).is_critical],
        omitted=[i for i in instrument.items if content.rating(i.code).rating == OMITTED],
    )
