"""The decrypted content of an assessment, the instrument's consistency rules applied to it,
and the checks made before submission. Pure: no database, no Flask."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskassess.instruments.definition import Instrument, Rule

OMITTED = "omitted"


@dataclass
class ItemRating:
    rating: str | None = None  # a level code of the item's scale, OMITTED, or None (not yet)
    rationale: str = ""
    is_critical: bool = False


@dataclass
class Content:
    items: dict[str, ItemRating] = field(default_factory=dict)
    judgement_level: str | None = None
    judgement_reason: str = ""
    additional_risk: str = ""
    additional_protective: str = ""
    # Why the judgement stands although a consistency rule applies, by rule id.
    rule_reasons: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": {
                code: {"rating": r.rating, "rationale": r.rationale, "critical": r.is_critical}
                for code, r in self.items.items()
            },
            "judgement": {"level": self.judgement_level, "reason": self.judgement_reason},
            "additional": {"risk": self.additional_risk, "protective": self.additional_protective},
            "rule_reasons": dict(self.rule_reasons),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Content:
        items = {
            code: ItemRating(
                value.get("rating"), value.get("rationale", ""), bool(value.get("critical", False))
            )
            for code, value in raw.get("items", {}).items()
        }
        judgement = raw.get("judgement", {})
        additional = raw.get("additional", {})
        return cls(
            items,
            judgement.get("level"),
            judgement.get("reason", ""),
            additional.get("risk", ""),
            additional.get("protective", ""),
            dict(raw.get("rule_reasons", {})),
        )

    def rating(self, code: str) -> ItemRating:
        return self.items.get(code, ItemRating())


@dataclass(frozen=True)
class Progress:
    rated: int
    omitted: int
    left: int


def progress(instrument: Instrument, content: Content) -> Progress:
    rated = omitted = 0
    for item in instrument.items:
        value = content.rating(item.code).rating
        if value == OMITTED:
            omitted += 1
        elif value is not None:
            rated += 1
    return Progress(rated, omitted, len(instrument.items) - rated - omitted)


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


@dataclass(frozen=True)
class Problem:
    """Why an assessment cannot be submitted yet; `item` is None for the judgement."""

    item: str | None
    kind: str  # "unrated", "no_rationale", "no_judgement", "no_reason", "rule"
    rule: Rule | None = None


def submission_problems(instrument: Instrument, content: Content) -> list[Problem]:
    problems: list[Problem] = []
    for item in instrument.items:
        rating = content.rating(item.code)
        if rating.rating is None:
            problems.append(Problem(item.code, "unrated"))
        elif not rating.rationale.strip():
            problems.append(Problem(item.code, "no_rationale"))
    if content.judgement_level is None:
        problems.append(Problem(None, "no_judgement"))
    elif not content.judgement_reason.strip():
        problems.append(Problem(None, "no_reason"))
    for rule in applicable_rules(instrument, content):
        if not content.rule_reasons.get(rule.id, "").strip():
            problems.append(Problem(None, "rule", rule))
    return problems
