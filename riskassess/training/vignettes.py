"""Training vignettes: fictional case material with a reference rating, read from TOML files.

A trainer adds a vignette by dropping a file into a vignette folder: the shipped one
(`instruments/vignettes/`) or a local one named by RISKASSESS_VIGNETTES_PATH, where licensed
course material stays outside the project. Each file is checked against the instrument version
it is written for. As with instrument files, every problem becomes one line naming the file,
the place in it and what is wrong, and a broken file stops the demo from starting.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskassess.assessments.content import OMITTED, SOURCES, Content, ItemRating
from riskassess.cases.identity import InvalidPersonnummer, normalize_personnummer
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import (
    ID_PATTERN,
    SEXES,
    VERSION_PATTERN,
    FileChecker,
    InstrumentError,
    InstrumentRegistry,
    read_toml,
)

FORMAT_VERSION = 1
TOP_KEYS = {
    "vignette", "id", "version", "instrument", "instrument_version", "title", "source",
    "child", "sections", "reference", "judgement",
}  # fmt: skip
CHILD_KEYS = {"name", "age", "sex"}
SECTION_KEYS = {"source", "heading", "text"}
REFERENCE_KEYS = {"item", "rating", "critical", "reason"}
JUDGEMENT_KEYS = {"level", "reason", "scenario"}
WORDING_KEYS = {"sv", "en"}
# Ten or twelve digits shaped like a personnummer, with or without the separator.
_IDENTITY_NUMBER = re.compile(r"(?<![\d-])(\d{6}|\d{8})[-+ ]?(\d{4})(?![\d-])")


class VignetteError(Exception):
    """One or more vignette files are broken; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Wording:
    """Vignette text: Swedish always, English where the author wrote it."""

    sv: str
    en: str = ""

    def get(self, locale: str) -> str:
        return self.en if locale == "en" and self.en else self.sv


@dataclass(frozen=True)
class Child:
    """The fictional child or young person the vignette is about."""

    name: str
    age: int
    sex: str


@dataclass(frozen=True)
class Section:
    """One part of the case material, with the kind of source it comes from (the same codes
    as an assessment's information sources)."""

    source: str
    heading: Wording
    text: Wording


@dataclass(frozen=True)
class ReferenceRating:
    """The expert reference for one item: a level code of its scale, or OMITTED."""

    item: str
    rating: str
    is_critical: bool
    reason: Wording

    @property
    def is_omitted(self) -> bool:
        return self.rating == OMITTED


@dataclass(frozen=True)
class ReferenceJudgement:
    level: str
    reason: Wording
    scenario: Wording | None = None


@dataclass(frozen=True)
class Vignette:
    id: str
    version: str
    instrument_id: str
    instrument_version: str
    title: Wording
    source: str
    child: Child
    sections: tuple[Section, ...]
    reference: tuple[ReferenceRating, ...]  # in the instrument's item order
    judgement: ReferenceJudgement
    content_hash: str
    path: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    @property
    def instrument_key(self) -> tuple[str, str]:
        return (self.instrument_id, self.instrument_version)

    def rating(self, item_code: str) -> ReferenceRating | None:
        return next((r for r in self.reference if r.item == item_code), None)

    def reference_content(self) -> Content:
        """The reference as an assessment's content, to compare a participant's ratings with
        (Swedish reasons: the reference is written in Swedish)."""
        items = {
            r.item: ItemRating(r.rating, r.reason.sv, r.is_critical, []) for r in self.reference
        }
        scenario = self.judgement.scenario.sv if self.judgement.scenario else ""
        return Content(
            items,
            self.judgement.level,
            self.judgement.reason.sv,
            scenarios=scenario,
        )


def _wording(check: FileChecker, raw: Any, where: str) -> Wording:
    """A text given as a string (Swedish) or as a table with Swedish and, optionally, English."""
    if raw is None:
        check.problem(where, "is missing")
        return Wording("")
    if isinstance(raw, str):
        if not raw.strip():
            check.problem(where, "is empty")
        return Wording(raw.strip())
    if not isinstance(raw, Mapping):
        check.problem(where, "must be a text, or a table with Swedish (sv) and English (en) text")
        return Wording("")
    check.table(raw, where, WORDING_KEYS)
    sv, en = raw.get("sv"), raw.get("en", "")
    if not isinstance(sv, str) or not sv.strip():
        check.problem(where, "missing Swedish text (sv)")
        sv = ""
    if not isinstance(en, str):
        check.problem(where, "English text (en) must be a text")
        en = ""
    return Wording(sv.strip(), en.strip())


def _child(check: FileChecker, raw: Any, instrument: Instrument | None) -> Child:
    spec = check.table(raw, "child", CHILD_KEYS)
    name = check.string(spec, "name", "child")
    age = check.integer(spec, "age", "child")
    sex = spec.get("sex")
    if sex not in SEXES:
        check.problem("child", f"'sex' must be one of {', '.join(SEXES)}")
        sex = ""
    if instrument is not None and sex and age and not instrument.applies_to(age, str(sex)):
        check.problem(
            "child",
            f"a child of {age} ({sex}) is outside {instrument.id} {instrument.version}'s "
            f"target group (ages {instrument.age_min}-{instrument.age_max}, "
            f"{', '.join(instrument.sexes)})",
        )
    return Child(name, age, str(sex))


def _sections(check: FileChecker, raw: Any) -> tuple[Section, ...]:
    if not isinstance(raw, list) or not raw:
        check.problem("sections", "at least one [[sections]] of case material is needed")
        return ()
    sections = []
    for index, entry in enumerate(raw, start=1):
        where = f"section {index}"
        spec = check.table(entry, where, SECTION_KEYS)
        source = spec.get("source")
        if source not in SOURCES:
            check.problem(where, f"'source' must be one of {', '.join(SOURCES)}")
        heading = _wording(check, spec.get("heading"), f"{where} heading")
        text = _wording(check, spec.get("text"), f"{where} text")
        sections.append(Section(str(source), heading, text))
    return tuple(sections)


def _reference(
    check: FileChecker, raw: Any, instrument: Instrument | None
) -> tuple[ReferenceRating, ...]:
    if not isinstance(raw, list) or not raw:
        check.problem("reference", "a [[reference]] rating for every item is needed")
        return ()
    found: dict[str, ReferenceRating] = {}
    for index, entry in enumerate(raw, start=1):
        spec = check.table(entry, f"reference {index}", REFERENCE_KEYS)
        code = check.string(spec, "item", f"reference {index}")
        where = f"reference '{code or index}'"
        rating = check.string(spec, "rating", where)
        is_critical = check.flag(spec, "critical", where)
        reason = _wording(check, spec.get("reason"), f"{where} reason")
        if code in found:
            check.problem(where, "the item is rated twice")
            continue
        if instrument is not None and code:
            item = instrument.item(code)
            if item is None:
                check.problem(where, f"{instrument.id} {instrument.version} has no item '{code}'")
                continue
            levels = [lvl.code for lvl in item.scale.levels]
            if rating and rating != OMITTED and rating not in levels:
                check.problem(
                    where,
                    f"rating '{rating}' is not on the item's scale "
                    f"({', '.join(levels)}, or {OMITTED})",
                )
            if is_critical and rating == OMITTED:
                check.problem(where, "an omitted item cannot be marked critical")
            if is_critical and not instrument.critical_flag:
                check.problem(where, "the instrument has no critical flag")
        if code:
            found[code] = ReferenceRating(code, rating, is_critical, reason)
    if instrument is None:
        return tuple(found.values())
    for item in instrument.items:
        if item.code not in found:
            check.problem("reference", f"no reference rating for item '{item.code}'")
    return tuple(found[item.code] for item in instrument.items if item.code in found)


def _judgement(check: FileChecker, raw: Any, instrument: Instrument | None) -> ReferenceJudgement:
    spec = check.table(raw, "judgement", JUDGEMENT_KEYS)
    level = check.string(spec, "level", "judgement")
    if instrument is not None and level and instrument.judgement_level(level) is None:
        codes = ", ".join(lvl.code for lvl in instrument.judgement_levels)
        check.problem("judgement", f"level '{level}' is not one of {codes}")
    reason = _wording(check, spec.get("reason"), "judgement reason")
    scenario = (
        _wording(check, spec["scenario"], "judgement scenario") if "scenario" in spec else None
    )
    return ReferenceJudgement(level, reason, scenario)


def _texts(raw: Any, where: str) -> Iterable[tuple[str, str]]:
    """Every text in a parsed file with the place it is at, for the identity number check."""
    if isinstance(raw, str):
        yield where, raw
    elif isinstance(raw, Mapping | list):
        for value in raw.values() if isinstance(raw, Mapping) else raw:
            yield from _texts(value, where)


def _no_identity_numbers(check: FileChecker, raw: Mapping[str, Any]) -> None:
    """Vignettes are fictional: a number that passes as a personnummer (even a made-up one
    with a valid check digit) is refused, without repeating it in the message."""
    places = {"sections": "section", "reference": "reference"}
    for key, value in raw.items():
        entries = value if key in places and isinstance(value, list) else [value]
        for index, entry in enumerate(entries, start=1):
            where = f"{places[key]} {index}" if key in places else key
            for place, text in _texts(entry, where):
                for match in _IDENTITY_NUMBER.finditer(text):
                    try:
                        normalize_personnummer(f"{match[1]}-{match[2]}")
                    except InvalidPersonnummer:
                        continue
                    check.problem(
                        place,
                        "holds a personal identity number (personnummer); vignettes are "
                        "fictional and hold none",
                    )


def _build(
    raw: Mapping[str, Any], content: bytes, name: str, path: str, instruments: InstrumentRegistry
) -> Vignette:
    check = FileChecker(name)
    if "schema" in raw and "vignette" not in raw:
        raise VignetteError([f"{name}: is an instrument file, not a vignette"])
    if "overlay" in raw and "vignette" not in raw:
        raise VignetteError([f"{name}: is an instrument overlay file, not a vignette"])
    check.table(raw, "header", TOP_KEYS)
    if raw.get("vignette") != FORMAT_VERSION:
        check.problem("vignette", f"must be {FORMAT_VERSION}")
    ident = check.matching(raw, "id", "header", ID_PATTERN)
    version = check.matching(raw, "version", "header", VERSION_PATTERN)
    instrument_id = check.string(raw, "instrument", "header")
    instrument_version = check.string(raw, "instrument_version", "header")
    source = check.string(raw, "source", "header")
    title = _wording(check, raw.get("title"), "title")
    instrument = None
    if instrument_id and instrument_version:
        instrument = instruments.get(instrument_id, instrument_version)
        if instrument is None:
            check.problem(
                "header", f"no instrument {instrument_id} version {instrument_version} is installed"
            )
    child = _child(check, raw.get("child"), instrument)
    sections = _sections(check, raw.get("sections"))
    reference = _reference(check, raw.get("reference"), instrument)
    judgement = _judgement(check, raw.get("judgement"), instrument)
    _no_identity_numbers(check, raw)
    if check.problems:
        raise VignetteError(check.problems)
    return Vignette(
        id=ident,
        version=version,
        instrument_id=instrument_id,
        instrument_version=instrument_version,
        title=title,
        source=source,
        child=child,
        sections=sections,
        reference=reference,
        judgement=judgement,
        content_hash=hashlib.sha256(content).hexdigest(),
        path=path,
    )


def parse_vignette(path: Path, instruments: InstrumentRegistry) -> Vignette:
    """Read and check one vignette file; raise VignetteError listing every problem."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise VignetteError([f"{path.name}: cannot be read: {exc.strerror}"]) from None
    try:
        raw = read_toml(content, path.name)
    except InstrumentError as exc:
        raise VignetteError(exc.problems) from None
    return _build(raw, content, path.name, str(path), instruments)


class VignetteRegistry:
    """Every vignette found at start-up (demo mode), by id and version."""

    def __init__(self, vignettes: Iterable[Vignette] = ()) -> None:
        self._by_key = {v.key: v for v in vignettes}

    def get(self, vignette_id: str, version: str) -> Vignette | None:
        return self._by_key.get((vignette_id, version))

    def all(self) -> list[Vignette]:
        return sorted(self._by_key.values(), key=lambda v: (v.instrument_id, v.id, v.version))

    def for_instrument(self, instrument_id: str) -> list[Vignette]:
        return [v for v in self.all() if v.instrument_id == instrument_id]


def vignette_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The `*.toml` files of the given folders (and the given files themselves), and a line
    for each path that does not exist."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.toml")))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: vignette folder or file does not exist")
    return files, problems


def load_vignettes(paths: Iterable[Path], instruments: InstrumentRegistry) -> VignetteRegistry:
    """Load every vignette of the given folders (or files); collect all problems, then fail.
    A vignette id and version may be defined once only."""
    files, problems = vignette_files(paths)
    found: list[Vignette] = []
    seen: dict[tuple[str, str], str] = {}
    for path in files:
        try:
            vignette = parse_vignette(path, instruments)
        except VignetteError as exc:
            problems.extend(exc.problems)
            continue
        if vignette.key in seen:
            problems.append(
                f"{path.name}: header: vignette {vignette.id} version {vignette.version} "
                f"is already defined in {seen[vignette.key]}"
            )
            continue
        seen[vignette.key] = path.name
        found.append(vignette)
    if problems:
        raise VignetteError(problems)
    return VignetteRegistry(found)
