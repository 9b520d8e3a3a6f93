"""Instrument definitions: immutable, built only by the loader from a validated file."""

from __future__ import annotations

from dataclasses import dataclass, field


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
        return next((lvl for lvl in self.levels if lvl.code == code), None)


@dataclass(frozen=True)
class Item:
    code: str
    title: Text
    guidance: Text
    scale: Scale


@dataclass(frozen=True)
class Domain:
    code: str
    kind: str
    title: Text
    items: tuple[Item, ...]


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
    # The file exactly as read; stored when the version is first used.
    definition: bytes = field(repr=False, default=b"")

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for domain in self.domains for item in domain.items)

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)

    def judgement_level(self, code: str) -> Level | None:
        return next((lvl for lvl in self.judgement_levels if lvl.code == code), None)
