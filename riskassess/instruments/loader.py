"""Read instrument files (TOML), check them, and build immutable definitions.

Instrument authors are not programmers, so every problem becomes one line that names the file,
the place in it and what is wrong; loading never shows a traceback.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from riskassess.instruments.definition import Domain, Instrument, Item, Level, Scale, Text

SCHEMA_VERSION = 1
SCALE_KINDS = ("risk", "protective")
SEXES = ("female", "male")


class InstrumentError(Exception):
    """One or more instrument files are broken; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Checker:
    """Collects problems for one file while the definition is being built."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.path.name}: {where}: {message}")

    def text(self, raw: Any, where: str) -> Text:
        if not isinstance(raw, Mapping):
            self.problem(where, "must be a table with Swedish (sv) and English (en) text")
            return Text("", "")
        values = {}
        for lang, name in (("sv", "Swedish"), ("en", "English")):
            value = raw.get(lang)
            if not isinstance(value, str) or not value.strip():
                self.problem(where, f"missing {name} text ({lang})")
                value = ""
            values[lang] = value.strip()
        return Text(**values)

    def string(self, raw: Mapping[str, Any], key: str, where: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"'{key}' is missing or empty")
            return ""
        return value.strip()

    def integer(self, raw: Mapping[str, Any], key: str, where: str) -> int:
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(where, f"'{key}' must be a whole number")
            return 0
        return value


def _scale(check: _Checker, code: str, raw: Any) -> Scale:
    where = f"scale '{code}'"
    if not isinstance(raw, Mapping):
        check.problem(where, "must be a table")
        return Scale(code, "risk", ())
    kind = raw.get("kind")
    if kind not in SCALE_KINDS:
        check.problem(where, f"'kind' must be one of {', '.join(SCALE_KINDS)}")
        kind = "risk"
    levels: list[Level] = []
    raw_levels = raw.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        check.problem(where, "needs at least one level")
        raw_levels = []
    for index, entry in enumerate(raw_levels, start=1):
        lwhere = f"{where}, level {index}"
        if not isinstance(entry, Mapping):
            check.problem(lwhere, "must be a table")
            continue
        lcode = check.string(entry, "code", lwhere)
        if lcode and any(lvl.code == lcode for lvl in levels):
            check.problem(lwhere, f"duplicate level code '{lcode}'")
        weight = entry.get("weight")
        if weight is not None and (not isinstance(weight, int) or isinstance(weight, bool)):
            check.problem(lwhere, "'weight' must be a whole number")
            weight = None
        levels.append(Level(lcode, check.text(entry, lwhere), weight))
    return Scale(code, str(kind), tuple(levels))


def _domains(check: _Checker, raw: Any, scales: Mapping[str, Scale]) -> tuple[Domain, ...]:
    if not isinstance(raw, list) or not raw:
        check.problem("domains", "at least one domain is needed")
        return ()
    domains: list[Domain] = []
    seen_items: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        if not isinstance(entry, Mapping):
            check.problem(f"domain {index}", "must be a table")
            continue
        code = check.string(entry, "code", f"domain {index}")
        where = f"domain '{code or index}'"
        kind = entry.get("kind")
        if kind not in SCALE_KINDS:
            check.problem(where, f"'kind' must be one of {', '.join(SCALE_KINDS)}")
        default_scale = entry.get("scale")
        items: list[Item] = []
        raw_items = entry.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            check.problem(where, "has no items")
            raw_items = []
        for position, raw_item in enumerate(raw_items, start=1):
            if not isinstance(raw_item, Mapping):
                check.problem(f"{where}, item {position}", "must be a table")
                continue
            icode = check.string(raw_item, "code", f"{where}, item {position}")
            iwhere = f"item '{icode or position}'"
            if icode in seen_items:
                check.problem(iwhere, "duplicate item code")
            seen_items.add(icode)
            scale_code = raw_item.get("scale", default_scale)
            scale = scales.get(str(scale_code))
            if scale is None:
                check.problem(iwhere, f"unknown scale '{scale_code}'")
                scale = Scale(str(scale_code), "risk", ())
            items.append(
                Item(
                    code=icode,
                    title=check.text(raw_item.get("title"), f"{iwhere} title"),
                    guidance=check.text(raw_item.get("guidance"), f"{iwhere} guidance"),
                    scale=scale,
                )
            )
        domains.append(
            Domain(code, str(kind), check.text(entry.get("title"), f"{where} title"), tuple(items))
        )
    return tuple(domains)


def parse_instrument(path: Path) -> Instrument:
    """Load and check one file; raise InstrumentError listing every problem found."""
    check = _Checker(path)
    try:
        content = path.read_bytes()
        raw = tomllib.loads(content.decode("utf-8"))
    except OSError as exc:
        raise InstrumentError([f"{path.name}: cannot be read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise InstrumentError([f"{path.name}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentError([f"{path.name}: is not valid TOML: {exc}"]) from None

    if raw.get("schema") != SCHEMA_VERSION:
        check.problem("schema", f"must be {SCHEMA_VERSION}")
    ident = check.string(raw, "id", "header")
    version = check.string(raw, "version", "header")
    family = check.string(raw, "family", "header")
    source = check.string(raw, "source", "header")
    title = check.text(raw.get("title"), "title")
    note = check.text(raw["note"], "note") if "note" in raw else None

    applies = raw.get("applies")
    if not isinstance(applies, Mapping):
        check.problem("applies", "must say which ages and sexes the instrument applies to")
        applies = {}
    age_min = check.integer(applies, "age_min", "applies")
    age_max = check.integer(applies, "age_max", "applies")
    if age_min > age_max:
        check.problem("applies", f"age range is upside down ({age_min} > {age_max})")
    sexes = applies.get("sexes")
    if not isinstance(sexes, list) or not sexes or any(s not in SEXES for s in sexes):
        check.problem("applies", f"'sexes' must list one or more of {', '.join(SEXES)}")
        sexes = []

    raw_scales = raw.get("scales")
    if not isinstance(raw_scales, Mapping) or not raw_scales:
        check.problem("scales", "at least one rating scale is needed")
        raw_scales = {}
    scales = {code: _scale(check, code, spec) for code, spec in raw_scales.items()}
    domains = _domains(check, raw.get("domains"), scales)

    judgement = raw.get("judgement")
    if not isinstance(judgement, Mapping):
        check.problem("judgement", "the overall judgement must be described")
        judgement = {}
    jscale = scales.get(str(judgement.get("scale")))
    if jscale is None:
        check.problem("judgement", f"unknown scale '{judgement.get('scale')}'")
        jscale = Scale("", "risk", ())
    jlevels: list[Level] = []
    for code in judgement.get("levels", []):
        level = jscale.level(str(code))
        if level is None:
            check.problem("judgement", f"level '{code}' is not in scale '{jscale.code}'")
        else:
            jlevels.append(level)
    if not jlevels:
        check.problem("judgement", "needs at least one level")

    if check.problems:
        raise InstrumentError(check.problems)
    return Instrument(
        id=ident,
        version=version,
        family=family,
        title=title,
        note=note,
        source=source,
        unverified=bool(raw.get("unverified", False)),
        age_min=age_min,
        age_max=age_max,
        sexes=tuple(sexes),
        domains=domains,
        judgement_title=check.text(judgement.get("title"), "judgement title"),
        judgement_scale=jscale,
        judgement_levels=tuple(jlevels),
        content_hash=hashlib.sha256(content).hexdigest(),
        path=str(path),
        definition=content,
    )


class InstrumentRegistry:
    """All instrument versions found at start-up, looked up by (id, version)."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        self._by_key: dict[tuple[str, str], Instrument] = {}
        for instrument in instruments:
            self._by_key[instrument.key] = instrument

    def get(self, instrument_id: str, version: str) -> Instrument | None:
        return self._by_key.get((instrument_id, version))

    def all(self) -> list[Instrument]:
        return sorted(self._by_key.values(), key=lambda i: (i.family, i.id, i.version))


def load_directories(directories: Iterable[Path]) -> InstrumentRegistry:
    """Load every `*.toml` in the given folders; collect all problems before failing."""
    problems: list[str] = []
    found: list[Instrument] = []
    keys: dict[tuple[str, str], str] = {}
    for directory in directories:
        if not directory.is_dir():
            problems.append(f"{directory}: instrument folder does not exist")
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                instrument = parse_instrument(path)
            except InstrumentError as exc:
                problems.extend(exc.problems)
                continue
            if instrument.key in keys:
                problems.append(
                    f"{path.name}: header: {instrument.id} version {instrument.version} "
                    f"is already defined in {keys[instrument.key]}"
                )
                continue
            keys[instrument.key] = path.name
            found.append(instrument)
    if not found and not problems:
        problems.append("no instrument files (*.toml) were found")
    if problems:
        raise InstrumentError(problems)
    return InstrumentRegistry(found)
