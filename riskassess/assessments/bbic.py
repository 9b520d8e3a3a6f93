"""What an assessment records for the BBIC investigation it serves: the phase, the
investigation's reference (diarienummer), the date, the information sources behind the whole
assessment, the kind of risk and timeframe the judgement speaks of, and the child's and the
guardians' own views. All of it is sealed with the rest of the content. Pure: no database, no
Flask."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# BBIC phases: förhandsbedömning, utredning (11 kap. SoL), uppföljning.
PHASES = ("preliminary", "investigation", "follow_up")
# Kinds of information source for the whole assessment. Interviews with the child or a
# guardian are the ones that make an assessment more than a reading of records.
SOURCE_KINDS = ("child", "guardians", "school", "police", "health", "records", "other")
INTERVIEW_KINDS = frozenset({"child", "guardians"})
# How a view was heard.
HEARD_HOW = ("meeting", "home_visit", "phone", "video", "written", "other")
# What kind of risk the summary judgement speaks of, and within how many months.
RISK_KINDS = ("violence", "serious_violence", "offending", "antisocial", "other")
TIMEFRAMES = ("3", "6", "12")


def _iso(value: Any) -> str:
    """A stored date as ISO text, or "" for anything that is not one (old or tampered data)."""
    try:
        return date.fromisoformat(value).isoformat() if value else ""
    except (TypeError, ValueError):
        return ""


def _code(value: Any, allowed: tuple[str, ...]) -> str | None:
    return value if value in allowed else None


@dataclass
class Source:
    """One information source: its kind, the date it was used, and who or what it was."""

    kind: str
    on: str  # ISO date
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "on": self.on, "description": self.description}


@dataclass
class Investigation:
    """The assessment's link to its BBIC investigation."""

    phase: str | None = None
    reference: str = ""  # diarienummer
    assessed_on: str = ""  # ISO date
    sources: list[Source] = field(default_factory=list)

    @property
    def records_only(self) -> bool:
        """No interview with the child or a guardian behind the assessment (file-only)."""
        return bool(self.sources) and not any(s.kind in INTERVIEW_KINDS for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "reference": self.reference,
            "assessed_on": self.assessed_on,
            "sources": [s.to_json() for s in self.sources],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Investigation:
        return cls(
            _code(raw.get("phase"), PHASES),
            str(raw.get("reference", "")),
            _iso(raw.get("assessed_on")),
            [
                Source(s["kind"], _iso(s.get("on")), str(s.get("description", "")))
                for s in raw.get("sources", [])
                if isinstance(s, dict) and s.get("kind") in SOURCE_KINDS
            ],
        )


@dataclass
class HeardView:
    """A view heard in the person's own words, with how and when it was heard. `who` names
    the guardian ("mother", a name); the child's view leaves it empty."""

    view: str = ""
    how: str | None = None
    heard_on: str = ""  # ISO date
    who: str = ""

    @property
    def is_recorded(self) -> bool:
        return bool(self.view.strip())

    def to_json(self) -> dict[str, Any]:
        return {"view": self.view, "how": self.how, "heard_on": self.heard_on, "who": self.who}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> HeardView:
        return cls(
            str(raw.get("view", "")),
            _code(raw.get("how"), HEARD_HOW),
            _iso(raw.get("heard_on")),
            str(raw.get("who", "")),
        )


@dataclass
class Voices:
    """The child's view and the guardians' views (SoL 11 kap. 10 §, Barnkonventionen art. 12):
    what they said, how it was weighed, or why they could not be heard."""

    child: HeardView = field(default_factory=HeardView)
    # How the child's view was taken into account, given age and maturity.
    child_weight: str = ""
    child_not_heard: str = ""  # why the child's view could not be obtained
    guardians: list[HeardView] = field(default_factory=list)
    guardians_not_heard: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "child": self.child.to_json(),
            "child_weight": self.child_weight,
            "child_not_heard": self.child_not_heard,
            "guardians": [g.to_json() for g in self.guardians],
            "guardians_not_heard": self.guardians_not_heard,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Voices:
        return cls(
            HeardView.from_json(raw.get("child") or {}),
            str(raw.get("child_weight", "")),
            str(raw.get("child_not_heard", "")),
            [HeardView.from_json(g) for g in raw.get("guardians", []) if isinstance(g, dict)],
            str(raw.get("guardians_not_heard", "")),
        )


@dataclass
class RiskSpecification:
    """The kind of risk and the timeframe the summary judgement speaks of ("serious
    violence within six months"), which SPJ practice records beside the level."""

    kind: str | None = None
    description: str = ""  # the kind in the caseworker's words, needed for "other"
    months: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "months": self.months}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RiskSpecification:
        return cls(
            _code(raw.get("kind"), RISK_KINDS),
            str(raw.get("description", "")),
            _code(raw.get("months"), TIMEFRAMES),
        )


def record_problems(
    investigation: Investigation, voices: Voices, risk: RiskSpecification
) -> list[str]:
    """What the case record still lacks before the assessment can be submitted, as codes in
    the order of the pages."""
    problems = []
    if investigation.phase is None:
        problems.append("no_phase")
    if not investigation.reference.strip():
        problems.append("no_reference")
    if not investigation.assessed_on:
        problems.append("no_date")
    if not investigation.sources:
        problems.append("no_sources")
    if not voices.child.is_recorded and not voices.child_not_heard.strip():
        problems.append("no_child_view")
    heard = any(g.is_recorded for g in voices.guardians)
    if not heard and not voices.guardians_not_heard.strip():
        problems.append("no_guardian_view")
    undescribed = risk.kind == "other" and not risk.description.strip()
    if risk.kind is None or risk.months is None or undescribed:
        problems.append("no_risk_specification")
    return problems
