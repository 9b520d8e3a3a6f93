"""The decrypted content of an assessment and the checks made before submission. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskassess.instruments.definition import Instrument

OMITTED = "omitted"


@dataclass
class ItemRating:
    rating: str | None = None  # a level code of the item's scale, OMITTED, or None (not yet)
    rationale: str = ""


@dataclass
class Content:
    items: dict[str, ItemRating] = field(default_factory=dict)
    judgement_level: str | None = None
    judgement_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "items": {
                code: {"rating": r.rating, "rationale": r.rationale}
                for code, r in self.items.items()
            },
            "judgement": {"level": self.judgement_level, "reason": self.judgement_reason},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Content:
        items = {
            code: ItemRating(value.get("rating"), value.get("rationale", ""))
            for code, value in raw.get("items", {}).items()
        }
        judgement = raw.get("judgement", {})
        return cls(items, judgement.get("level"), judgement.get("reason", ""))

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


@dataclass(frozen=True)
class Problem:
    """Why an assessment cannot be submitted yet; `item` is None for the judgement."""

    item: str | None
    kind: str  # "unrated", "no_rationale", "no_judgement", "no_reason"


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
    return problems
