"""Read instrument files (TOML), check them, and build immutable definitions.

Instrument authors are not programmers, so every problem becomes one line that names the file,
the place in it and what is wrong; loading never shows a traceback. A folder may also hold
overlay files (`overlay = 1`) that add a licensed manual's guidance to an instrument version
without changing the shipped file or its content hash.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskassess.instruments.definition import Domain, Instrument, Item, Level, Rule, Scale, Text

SCHEMA_VERSION = 1
OVERLAY_VERSION = 1
SCALE_KINDS = ("risk", "protective")
SEXES = ("female", "male")
RULE_KINDS = ("judgement_with_items", "max_omitted")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,58}$")
VERSION_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.-]{0,19}$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9]{1,10}$")  # item codes end up in form field names
LEVEL_PATTERN = re.compile(r"^[a-z0-9_-]{1,20}$")

TOP_KEYS = {
    "schema", "id", "version", "family", "source", "unverified", "title", "note", "applies",
    "features", "scales", "domains", "judgement", "research_index", "rules",
    "reassessment_months",
}  # fmt: skip
VIGNETTE_MISPLACED = (
    "{name}: is a training vignette, not an instrument: put it in a vignette folder "
    "(RISKASSESS_VIGNETTES_PATH)"
)
OVERLAY_KEYS = {"overlay", "instrument", "version", "guidance", "reassessment_months"}
# A reassessment interval: at least a month, at most ten years.
MAX_REASSESSMENT_MONTHS = 120
RULE_KEYS = {"id", "kind", "message", "when_judgement", "ratings", "min_items", "items", "max"}


class InstrumentError(Exception):
    """One or more instrument files are broken; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class FileChecker:
    """Collects problems for one file while a definition is being built (instrument files
    here, training vignettes in riskassess.training.vignettes)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{self.name}: {where}: {message}")

    def table(self, raw: Any, where: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping):
            self.problem(where, "must be a table")
            return {}
        for key in sorted(set(raw) - allowed):
            self.problem(where, f"unknown field '{key}'")
        return raw

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

    def matching(
        self, raw: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str]
    ) -> str:
        value = self.string(raw, key, where)
        if value and not pattern.match(value):
            self.problem(where, f"'{key}' {value!r} may only use {_describe(pattern)}")
        return value

    def integer(self, raw: Mapping[str, Any], key: str, where: str, minimum: int = 0) -> int:
        value = raw.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(where, f"'{key}' must be a whole number")
            return 0
        if value < minimum:
            self.problem(where, f"'{key}' must be at least {minimum}")
        return value

    def months(self, raw: Mapping[str, Any], where: str) -> int | None:
        """The optional reassessment interval, in whole months."""
        if "reassessment_months" not in raw:
            return None
        value = self.integer(raw, "reassessment_months", where, minimum=1)
        if value > MAX_REASSESSMENT_MONTHS:
            self.problem(where, f"'reassessment_months' must be at most {MAX_REASSESSMENT_MONTHS}")
        return value if 1 <= value <= MAX_REASSESSMENT_MONTHS else None

    def flag(self, raw: Mapping[str, Any], key: str, where: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            self.problem(where, f"'{key}' must be true or false")
            return False
        return value

    def strings(self, raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(where, f"'{key}' must be a list of texts")
            return ()
        return tuple(value)


def _describe(pattern: re.Pattern[str]) -> str:
    return {
        ID_PATTERN: "lower-case letters, digits and dashes",
        VERSION_PATTERN: "letters, digits, dots and dashes",
        CODE_PATTERN: "letters and digits (at most 10)",
        LEVEL_PATTERN: "lower-case letters, digits, '_' and '-'",
    }.get(pattern, pattern.pattern)


def _scale(check: FileChecker, code: str, raw: Any) -> Scale:
    where = f"scale '{code}'"
    spec = check.table(raw, where, {"kind", "levels"})
    kind = spec.get("kind")
    if kind not in SCALE_KINDS:
        check.problem(where, f"'kind' must be one of {', '.join(SCALE_KINDS)}")
        kind = "risk"
    levels: list[Level] = []
    raw_levels = spec.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        check.problem(where, "needs at least one level")
        raw_levels = []
    for index, entry in enumerate(raw_levels, start=1):
        lwhere = f"{where}, level {index}"
        level = check.table(entry, lwhere, {"code", "weight", "sv", "en"})
        lcode = check.matching(level, "code", lwhere, LEVEL_PATTERN)
        if lcode and any(lvl.code == lcode for lvl in levels):
            check.problem(lwhere, f"duplicate level code '{lcode}'")
        weight = level.get("weight")
        if weight is not None and (not isinstance(weight, int) or isinstance(weight, bool)):
            check.problem(lwhere, "'weight' must be a whole number")
            weight = None
        levels.append(Level(lcode, check.text(level, lwhere), weight))
    return Scale(code, str(kind), tuple(levels))


def _domains(check: FileChecker, raw: Any, scales: Mapping[str, Scale]) -> tuple[Domain, ...]:
    if not isinstance(raw, list) or not raw:
        check.problem("domains", "at least one domain is needed")
        return ()
    domains: list[Domain] = []
    seen_items: set[str] = set()
    seen_domains: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        spec = check.table(
            entry, f"domain {index}", {"code", "kind", "scale", "title", "items", "historical"}
        )
        code = check.matching(spec, "code", f"domain {index}", CODE_PATTERN)
        where = f"domain '{code or index}'"
        if code in seen_domains:
            check.problem(where, "duplicate domain code")
        seen_domains.add(code)
        kind = spec.get("kind")
        if kind not in SCALE_KINDS:
            check.problem(where, f"'kind' must be one of {', '.join(SCALE_KINDS)}")
        default_scale = spec.get("scale")
        items: list[Item] = []
        raw_items = spec.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            check.problem(where, "has no items")
            raw_items = []
        for position, raw_item in enumerate(raw_items, start=1):
            item_spec = check.table(
                raw_item, f"{where}, item {position}", {"code", "title", "guidance", "scale"}
            )
            icode = check.matching(item_spec, "code", f"{where}, item {position}", CODE_PATTERN)
            iwhere = f"item '{icode or position}'"
            if icode in seen_items:
                check.problem(iwhere, "duplicate item code")
            seen_items.add(icode)
            scale_code = item_spec.get("scale", default_scale)
            scale = scales.get(str(scale_code))
            if scale is None:
                check.problem(iwhere, f"unknown scale '{scale_code}'")
                scale = Scale(str(scale_code), "risk", ())
            elif scale.kind != kind and kind in SCALE_KINDS:
                check.problem(
                    iwhere, f"a {kind} item cannot use the {scale.kind} scale '{scale.code}'"
                )
            items.append(
                Item(
                    code=icode,
                    title=check.text(item_spec.get("title"), f"{iwhere} title"),
                    guidance=check.text(item_spec.get("guidance"), f"{iwhere} guidance"),
                    scale=scale,
                )
            )
        title = check.text(spec.get("title"), f"{where} title")
        historical = check.flag(spec, "historical", where)
        domains.append(Domain(code, str(kind), title, tuple(items), historical))
    return tuple(domains)


def _rules(
    check: FileChecker, raw: Any, domains: tuple[Domain, ...], judgement: tuple[Level, ...]
) -> tuple[Rule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        check.problem("rules", "must be a list of [[rules]] tables")
        return ()
    items = {item.code: item for domain in domains for item in domain.items}
    risk_levels = {
        lvl.code
        for item in items.values()
        if item.scale.kind == "risk"
        for lvl in item.scale.levels
    }
    judgement_codes = {lvl.code for lvl in judgement}
    rules: list[Rule] = []
    for index, entry in enumerate(raw, start=1):
        spec = check.table(entry, f"rule {index}", RULE_KEYS)
        rid = check.matching(spec, "id", f"rule {index}", ID_PATTERN)
        where = f"rule '{rid or index}'"
        if rid and any(r.id == rid for r in rules):
            check.problem(where, "duplicate rule id")
        kind = spec.get("kind")
        message = check.text(spec.get("message"), f"{where} message")
        if kind == "judgement_with_items":
            when = check.strings(spec, "when_judgement", where)
            ratings = check.strings(spec, "ratings", where)
            named = check.strings(spec, "items", where)
            for code in when:
                if code not in judgement_codes:
                    check.problem(where, f"judgement level '{code}' does not exist")
            if not ratings:
                check.problem(where, "'ratings' must name at least one risk rating")
            for code in ratings:
                if code not in risk_levels:
                    check.problem(where, f"rating '{code}' is not a level of any risk item's scale")
            for code in named:
                if code not in items:
                    check.problem(where, f"names item '{code}', which does not exist")
            rules.append(
                Rule(
                    rid,
                    kind,
                    message,
                    when_judgement=when,
                    ratings=ratings,
                    min_items=check.integer(spec, "min_items", where, minimum=1),
                    items=named,
                )
            )
        elif kind == "max_omitted":
            rules.append(
                Rule(rid, kind, message, max_omitted=check.integer(spec, "max", where, minimum=0))
            )
        else:
            check.problem(where, f"'kind' must be one of {', '.join(RULE_KINDS)}")
    return tuple(rules)


def read_toml(content: bytes, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise InstrumentError([f"{name}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentError([f"{name}: is not valid TOML: {exc}"]) from None


def _build(raw: Mapping[str, Any], content: bytes, name: str, path: str) -> Instrument:
    check = FileChecker(name)
    check.table(raw, "header", TOP_KEYS)
    if raw.get("schema") != SCHEMA_VERSION:
        check.problem("schema", f"must be {SCHEMA_VERSION}")
    ident = check.matching(raw, "id", "header", ID_PATTERN)
    version = check.matching(raw, "version", "header", VERSION_PATTERN)
    family = check.string(raw, "family", "header")
    source = check.string(raw, "source", "header")
    unverified = check.flag(raw, "unverified", "header")
    title = check.text(raw.get("title"), "title")
    note = check.text(raw["note"], "note") if "note" in raw else None

    applies = check.table(raw.get("applies"), "applies", {"age_min", "age_max", "sexes"})
    age_min = check.integer(applies, "age_min", "applies")
    age_max = check.integer(applies, "age_max", "applies")
    if age_min > age_max:
        check.problem("applies", f"age range is upside down ({age_min} > {age_max})")
    sexes = applies.get("sexes")
    if not isinstance(sexes, list) or not sexes or any(s not in SEXES for s in sexes):
        check.problem("applies", f"'sexes' must list one or more of {', '.join(SEXES)}")
        sexes = []

    features = check.table(
        raw.get("features", {}), "features", {"critical_flag", "additional_factors"}
    )
    raw_scales = raw.get("scales")
    if not isinstance(raw_scales, Mapping) or not raw_scales:
        check.problem("scales", "at least one rating scale is needed")
        raw_scales = {}
    scales = {code: _scale(check, code, spec) for code, spec in raw_scales.items()}
    domains = _domains(check, raw.get("domains"), scales)

    judgement = check.table(raw.get("judgement"), "judgement", {"title", "scale", "levels"})
    jscale = scales.get(str(judgement.get("scale")))
    if jscale is None:
        check.problem("judgement", f"unknown scale '{judgement.get('scale')}'")
        jscale = Scale("", "risk", ())
    jlevels: list[Level] = []
    for code in check.strings(judgement, "levels", "judgement"):
        level = jscale.level(code)
        if level is None:
            check.problem("judgement", f"level '{code}' is not in scale '{jscale.code}'")
        else:
            jlevels.append(level)
    if not jlevels:
        check.problem("judgement", "needs at least one level")
    research = None
    if "research_index" in raw:
        research_spec = check.table(raw["research_index"], "research_index", {"title"})
        research = check.text(research_spec.get("title"), "research_index title")
    judgement_title = check.text(judgement.get("title"), "judgement title")
    rules = _rules(check, raw.get("rules"), domains, tuple(jlevels))
    critical_flag = check.flag(features, "critical_flag", "features")
    additional_factors = check.flag(features, "additional_factors", "features")
    reassessment_months = check.months(raw, "header")

    if check.problems:
        raise InstrumentError(check.problems)
    return Instrument(
        id=ident,
        version=version,
        family=family,
        title=title,
        note=note,
        source=source,
        unverified=unverified,
        age_min=age_min,
        age_max=age_max,
        sexes=tuple(sexes),
        domains=domains,
        judgement_title=judgement_title,
        judgement_scale=jscale,
        judgement_levels=tuple(jlevels),
        content_hash=hashlib.sha256(content).hexdigest(),
        path=path,
        critical_flag=critical_flag,
        additional_factors=additional_factors,
        research_index_title=research,
        rules=rules,
        reassessment_months=reassessment_months,
        definition=content,
    )


def parse_definition(content: bytes, name: str, path: str = "") -> Instrument:
    """Build an instrument from a file's bytes; raise InstrumentError listing every problem."""
    raw = read_toml(content, name)
    if "overlay" in raw:
        raise InstrumentError([f"{name}: is an overlay file, not an instrument"])
    if "vignette" in raw:
        raise InstrumentError([VIGNETTE_MISPLACED.format(name=name)])
    return _build(raw, content, name, path or name)


def parse_overlay(path: Path) -> Overlay:
    """Check one overlay file on its own (which instrument it adds to is checked at loading)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InstrumentError([f"{path.name}: cannot be read: {exc.strerror}"]) from None
    raw = read_toml(content, path.name)
    if "overlay" not in raw:
        raise InstrumentError([f"{path.name}: is an instrument file, not an overlay"])
    return _overlay(raw, path.name)


def is_overlay_file(path: Path) -> bool:
    """Whether a file is an overlay (it says `overlay = ...`), without checking it further."""
    try:
        return "overlay" in read_toml(path.read_bytes(), path.name)
    except (InstrumentError, OSError):
        return False


def parse_instrument(path: Path) -> Instrument:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InstrumentError([f"{path.name}: cannot be read: {exc.strerror}"]) from None
    return parse_definition(content, path.name, str(path))


@dataclass(frozen=True)
class Overlay:
    """An installation's additions to one instrument version, kept outside its file: licensed
    manual guidance, and the reassessment interval of its own routine."""

    name: str
    instrument_id: str
    version: str
    guidance: dict[str, Text]
    reassessment_months: int | None = None


def _overlay(raw: Mapping[str, Any], name: str) -> Overlay:
    check = FileChecker(name)
    check.table(raw, "header", OVERLAY_KEYS)
    if raw.get("overlay") != OVERLAY_VERSION:
        check.problem("overlay", f"must be {OVERLAY_VERSION}")
    ident = check.string(raw, "instrument", "header")
    version = check.string(raw, "version", "header")
    months = check.months(raw, "header")
    guidance: dict[str, Text] = {}
    spec = raw.get("guidance")
    if spec is None and "reassessment_months" in raw:
        spec = {}  # an overlay may set the interval alone
    elif not isinstance(spec, Mapping) or not spec:
        check.problem("guidance", "must hold at least one [guidance.<item code>] table")
        spec = {}
    for code, texts in spec.items():
        where = f"guidance for item '{code}'"
        table = check.table(texts, where, {"sv", "en"})
        sv, en = table.get("sv"), table.get("en")
        if not any(isinstance(t, str) and t.strip() for t in (sv, en)):
            check.problem(where, "needs Swedish (sv) or English (en) text")
            continue
        # A manual may exist in one language only; show it in both rather than nothing.
        sv_text = sv.strip() if isinstance(sv, str) and sv.strip() else str(en).strip()
        en_text = en.strip() if isinstance(en, str) and en.strip() else sv_text
        guidance[str(code)] = Text(sv_text, en_text)
    if check.problems:
        raise InstrumentError(check.problems)
    return Overlay(name, ident, version, guidance, months)


class InstrumentRegistry:
    """All instrument versions found at start-up, with their local overlays applied."""

    def __init__(self, instruments: Iterable[Instrument], overlays: Iterable[Overlay] = ()) -> None:
        self._manual: dict[tuple[str, str], dict[str, Text]] = {}
        # Overlays are read folder by folder, the shipped folder first: the last interval set
        # for a version wins, so an installation's own folder overrides the shipped routine.
        self._months: dict[tuple[str, str], int] = {}
        for overlay in overlays:
            key = (overlay.instrument_id, overlay.version)
            self._manual.setdefault(key, {}).update(overlay.guidance)
            if overlay.reassessment_months is not None:
                self._months[key] = overlay.reassessment_months
        self._by_key = {i.key: self._local(i) for i in instruments}

    def _local(self, instrument: Instrument) -> Instrument:
        return instrument.with_local(
            self._manual.get(instrument.key, {}), self._months.get(instrument.key)
        )

    def get(self, instrument_id: str, version: str) -> Instrument | None:
        return self._by_key.get((instrument_id, version))

    def all(self) -> list[Instrument]:
        return sorted(self._by_key.values(), key=lambda i: (i.family, i.id, i.version))

    def manual_for(self, instrument: Instrument) -> Instrument:
        """Attach this installation's overlay to a definition read from elsewhere (the database)."""
        return self._local(instrument)


def load_directories(directories: Iterable[Path]) -> InstrumentRegistry:
    """Load every `*.toml` in the given folders; collect all problems before failing."""
    problems: list[str] = []
    found: list[Instrument] = []
    overlays: list[Overlay] = []
    keys: dict[tuple[str, str], str] = {}
    for directory in directories:
        if not directory.is_dir():
            problems.append(f"{directory}: instrument folder does not exist")
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                content = path.read_bytes()
                raw = read_toml(content, path.name)
                if "overlay" in raw:
                    overlays.append(_overlay(raw, path.name))
                    continue
                if "vignette" in raw:
                    raise InstrumentError([VIGNETTE_MISPLACED.format(name=path.name)])
                instrument = _build(raw, content, path.name, str(path))
            except InstrumentError as exc:
                problems.extend(exc.problems)
                continue
            except OSError as exc:
                problems.append(f"{path.name}: cannot be read: {exc.strerror}")
                continue
            if instrument.key in keys:
                problems.append(
                    f"{path.name}: header: {instrument.id} version {instrument.version} "
                    f"is already defined in {keys[instrument.key]}"
                )
                continue
            keys[instrument.key] = path.name
            found.append(instrument)
    by_key = {i.key: i for i in found}
    for overlay in overlays:
        target = by_key.get((overlay.instrument_id, overlay.version))
        if target is None:
            problems.append(
                f"{overlay.name}: header: no instrument {overlay.instrument_id} "
                f"version {overlay.version} to add to"
            )
            continue
        for code in overlay.guidance:
            if target.item(code) is None:
                problems.append(
                    f"{overlay.name}: guidance for item '{code}': {overlay.instrument_id} "
                    f"version {overlay.version} has no such item"
                )
    if not found and not problems:
        problems.append("no instrument files (*.toml) were found")
    if problems:
        raise InstrumentError(problems)
    return InstrumentRegistry(found, overlays)
