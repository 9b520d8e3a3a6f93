"""Instrument definitions: immutable, built only by the loader from a checked file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property


@dataclass(frozen=True)
class Text:
    """A text in Swedish and English."""

    sv: str
    en: str

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.sv


@dataclass(frozen=True)
class Level:
    code: str
    label: Text
    weight: int | None


@dataclass(frozen=True)
class Scale:
    code: str
    kind: str  # "risk" or "protective"
    levels: tuple[Level, ...]

    def level(self, code: str) -> Level | None:
        return self._by_code.get(code)

    @cached_property
    def _by_code(self) -> dict[str, Level]:
        # A page looks up every item's rating, some hundred times: a dict, not a search.
        return {lvl.code: lvl for lvl in self.levels}

    @property
    def max_weight(self) -> int:
        return max((lvl.weight or 0 for lvl in self.levels), default=0)


@dataclass(frozen=True)
class Item:
    code: str
    title: Text
    guidance: Text
    scale: Scale
    # The licensed manual's guidance, added locally by an overlay file; never shipped.
    manual: Text | None = None


@dataclass(frozen=True)
class Domain:
    code: str
    kind: str
    title: Text
    items: tuple[Item, ...]
    # Historical items describe the past; a reassessment carries them forward only when the
    # caseworker confirms them.
    historical: bool = False


@dataclass(frozen=True)
class Rule:
    """A consistency rule: when it applies, submission needs a written reason."""

    id: str
    kind: str  # "judgement_with_items" or "max_omitted"
    message: Text
    when_judgement: tuple[str, ...] = ()
    ratings: tuple[str, ...] = ()
    min_items: int = 0
    items: tuple[str, ...] = ()  # empty: every risk item
    max_omitted: int = 0


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    family: str
    title: Text
    note: Text | None
    source: str
    unverified: bool
    age_min: int
    age_max: int
    sexes: tuple[str, ...]
    domains: tuple[Domain, ...]
    judgement_title: Text
    judgement_scale: Scale
    judgement_levels: tuple[Level, ...]
    content_hash: str
    path: str
    critical_flag: bool = False
    additional_factors: bool = False
    research_index_title: Text | None = None
    rules: tuple[Rule, ...] = ()
    # Months after an approval when the next assessment is due; None: no routine interval.
    # A local overlay may set or change it without changing the file (and its hash).
    reassessment_months: int | None = None
    # The file exactly as read; stored when the version is first used.
    definition: bytes = field(repr=False, default=b"")

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for domain in self.domains for item in domain.items)

    @property
    def historical_codes(self) -> frozenset[str]:
        """Items of the historical domains: a reassessment carries them forward only where the
        caseworker confirms that they still hold."""
        return frozenset(item.code for d in self.domains if d.historical for item in d.items)

    @property
    def risk_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scale.kind == "risk")

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    def judgement_level(self, code: str) -> Level | None:
        return next((lvl for lvl in self.judgement_levels if lvl.code == code), None)

    def applies_to(self, age: int, sex: str) -> bool:
        return self.age_min <= age <= self.age_max and sex in self.sexes

    def with_local(self, guidance: dict[str, Text], reassessment_months: int | None) -> Instrument:
        """A copy with this installation's additions: licensed manual guidance attached to the
        named items, and its own reassessment interval where it sets one."""
        instrument = self.with_manual(guidance)
        if reassessment_months is None or reassessment_months == self.reassessment_months:
            return instrument
        return replace(instrument, reassessment_months=reassessment_months)

    def with_manual(self, guidance: dict[str, Text]) -> Instrument:
        """A copy with licensed manual guidance attached to the named items."""
        if not guidance:
            return self
        domains = tuple(
            replace(
                domain,
                items=tuple(replace(item, manual=guidance.get(item.code)) for item in domain.items),
            )
            for domain in self.domains
        )
        return replace(self, domains=domains)
