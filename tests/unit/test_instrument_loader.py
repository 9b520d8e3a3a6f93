"""Instrument files: the shipped ones load, and broken ones give one clear line per problem."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

from riskassess.config import SHIPPED_INSTRUMENTS
from riskassess.instruments.loader import (
    InstrumentError,
    is_overlay_file,
    load_directories,
    parse_instrument,
)
from riskassess.instruments.schema import INSTRUMENT_SCHEMA

SAVRY = SHIPPED_INSTRUMENTS / "savry-style-1.0.toml"


def test_shipped_savry_style_has_all_items() -> None:
    instrument = parse_instrument(SAVRY)
    codes = [item.code for item in instrument.items]
    assert codes[:10] == [f"H{i}" for i in range(1, 11)]
    assert len([c for c in codes if c[0] in "HKI"]) == 24
    assert [c for c in codes if c.startswith("S")] == [f"S{i}" for i in range(1, 7)]
    assert all(item.title.sv and item.title.en and item.guidance.sv for item in instrument.items)
    assert instrument.item("H1") is not None
    assert instrument.item("H1").title.en == "History of violence"  # type: ignore[union-attr]
    assert [lvl.code for lvl in instrument.judgement_levels] == ["low", "moderate", "high"]
    assert len(instrument.content_hash) == 64


CORPUS = Path(__file__).parent / "instrument_corpus"
BROKEN = sorted(p for p in CORPUS.glob("*.toml") if p.name != "valid-mini.toml")


def _expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: ")
    return f"{path.name}: {first.removeprefix('# expect: ')}"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SAVRY.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_every_shipped_file_is_valid() -> None:
    registry = load_directories([SHIPPED_INSTRUMENTS])
    ids = {i.id for i in registry.all()}
    assert {"savry-style", "earl-20b-style", "earl-21g-style", "earl-v3-style"} <= ids


@pytest.mark.parametrize(
    "instrument_id, items, maximum, sexes",
    [
        ("savry-style", 30, 48, ("female", "male")),
        ("earl-20b-style", 20, 40, ("male",)),
        ("earl-21g-style", 21, 42, ("female",)),
        ("earl-v3-style", 21, 42, ("female", "male")),
    ],
)
def test_shipped_instruments_shape(
    instrument_id: str, items: int, maximum: int, sexes: tuple[str, ...]
) -> None:
    instrument = load_directories([SHIPPED_INSTRUMENTS]).get(instrument_id, "1.0")
    assert instrument is not None
    assert len(instrument.items) == items
    assert sum(item.scale.max_weight for item in instrument.risk_items) == maximum
    assert instrument.sexes == sexes
    assert instrument.critical_flag and instrument.unverified
    assert instrument.research_index_title is not None
    assert [lvl.code for lvl in instrument.judgement_levels] == ["low", "moderate", "high"]


def test_earl_v3_is_data_only_and_says_what_is_unconfirmed() -> None:
    """EARL-V3 arrived as a file, with no code: three sections of 9, 9 and 3 items, for boys
    and girls aged 6-12; its treatment-barrier names are placeholders and say so."""
    instrument = load_directories([SHIPPED_INSTRUMENTS]).get("earl-v3-style", "1.0")
    assert instrument is not None
    assert [(d.code, len(d.items)) for d in instrument.domains] == [("F", 9), ("C", 9), ("R", 3)]
    assert (instrument.age_min, instrument.age_max) == (6, 12)
    barriers = instrument.domains[2].items
    assert all("ej bekräftat" in item.title.sv for item in barriers)
    assert all("not confirmed" in item.title.en for item in barriers)
    assert not any("bekräftat" in item.title.sv for d in instrument.domains[:2] for item in d.items)


def test_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 15
    parse_instrument(CORPUS / "valid-mini.toml")


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_file_names_file_place_and_problem(path: Path) -> None:
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(path)
    expected = _expected(path)
    assert any(line.startswith(expected) for line in caught.value.problems), caught.value.problems


def test_json_schema_accepts_every_valid_file() -> None:
    for path in [*SHIPPED_INSTRUMENTS.glob("*.toml"), CORPUS / "valid-mini.toml"]:
        if is_overlay_file(path):
            continue  # the schema describes instrument files, not overlays
        jsonschema.validate(tomllib.loads(path.read_text(encoding="utf-8")), INSTRUMENT_SCHEMA)


@pytest.mark.parametrize(
    "name",
    [
        "bad-id",
        "feature-not-boolean",
        "item-code-with-space",
        "missing-english-guidance",
        "missing-swedish-title",
        "rule-negative-max",
        "rule-unknown-kind",
        "unknown-field",
        "unknown-sex",
        "weight-not-a-number",
        "wrong-schema",
        "reassessment-months-zero",
        "reassessment-months-text",
        "reassessment-months-too-many",
    ],
)
def test_json_schema_rejects_structural_mistakes(name: str) -> None:
    """Cross-references (unknown items, scales, levels) are the loader's; shape is both's."""
    raw = tomllib.loads((CORPUS / f"{name}.toml").read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, INSTRUMENT_SCHEMA)


def test_overlay_adds_manual_guidance_without_changing_the_hash(tmp_path: Path) -> None:
    (tmp_path / "savry-manual.toml").write_text(
        'overlay = 1\ninstrument = "savry-style"\nversion = "1.0"\n'
        '[guidance.H1]\nsv = "Manualens text om H1 (fiktiv)."\n',
        encoding="utf-8",
    )
    plain = load_directories([SHIPPED_INSTRUMENTS]).get("savry-style", "1.0")
    with_manual = load_directories([SHIPPED_INSTRUMENTS, tmp_path]).get("savry-style", "1.0")
    assert plain is not None and with_manual is not None
    item = with_manual.item("H1")
    assert item is not None and item.manual is not None
    assert item.manual.sv == item.manual.en == "Manualens text om H1 (fiktiv)."
    assert with_manual.content_hash == plain.content_hash


@pytest.mark.parametrize(
    "content, message",
    [
        (
            'overlay = 1\ninstrument = "savry-style"\nversion = "9.9"\n[guidance.H1]\nsv = "x"\n',
            "manual.toml: header: no instrument savry-style version 9.9 to add to",
        ),
        (
            'overlay = 1\ninstrument = "savry-style"\nversion = "1.0"\n[guidance.Z9]\nsv = "x"\n',
            "manual.toml: guidance for item 'Z9': savry-style version 1.0 has no such item",
        ),
        (
            'overlay = 1\ninstrument = "savry-style"\nversion = "1.0"\n[guidance.H1]\nde = "x"\n',
            "manual.toml: guidance for item 'H1': unknown field 'de'",
        ),
    ],
)
def test_broken_overlay_is_reported(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "manual.toml").write_text(content, encoding="utf-8")
    with pytest.raises(InstrumentError) as caught:
        load_directories([SHIPPED_INSTRUMENTS, tmp_path])
    assert message in caught.value.problems


def test_same_version_twice_is_refused(tmp_path: Path) -> None:
    for name in ("a.toml", "b.toml"):
        (tmp_path / name).write_bytes(SAVRY.read_bytes())
    with pytest.raises(InstrumentError) as caught:
        load_directories([tmp_path])
    assert caught.value.problems == [
        "b.toml: header: savry-style version 1.0 is already defined in a.toml"
    ]


def test_cli_validate_prints_problems_without_traceback(tmp_path: Path) -> None:
    path = _broken(tmp_path, "age_max = 18", "age_max = 10")
    result = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "instruments", "validate", str(path), str(SAVRY)],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    assert result.returncode == 1
    assert "broken.toml: applies: age range is upside down" in result.stderr
    assert "Traceback" not in result.stderr


def test_app_refuses_to_start_with_a_broken_instrument(tmp_path: Path) -> None:
    _broken(tmp_path, 'code = "H2"', 'code = "H1"')
    env = dict(
        os.environ,
        RISKASSESS_INSTRUMENTS_PATH=str(tmp_path),
        RISKASSESS_MODE="demo",
        RISKASSESS_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "check"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 1
    assert "broken.toml: item 'H1': duplicate item code" in result.stderr
    assert "Traceback" not in result.stderr


def test_reassessment_interval_in_the_file(tmp_path: Path) -> None:
    path = _broken(tmp_path, 'family = "savry"', 'family = "savry"\nreassessment_months = 3')
    assert parse_instrument(path).reassessment_months == 3
    assert parse_instrument(SAVRY).reassessment_months is None  # the shipped file sets none


def test_shipped_routine_sets_six_months_without_changing_the_hash() -> None:
    """The 1.0 files that assessments already rest on get the interval from an overlay, so
    their hash stays; EARL-V3, new, carries it in its own file."""
    loaded = load_directories([SHIPPED_INSTRUMENTS])
    for instrument in loaded.all():
        assert instrument.reassessment_months == 6, instrument.id
        bare = parse_instrument(Path(instrument.path))
        assert bare.content_hash == instrument.content_hash
        in_file = 6 if instrument.id == "earl-v3-style" else None
        assert bare.reassessment_months == in_file, instrument.id


def test_a_later_folder_sets_its_own_routine(tmp_path: Path) -> None:
    (tmp_path / "routine.toml").write_text(
        'overlay = 1\ninstrument = "savry-style"\nversion = "1.0"\nreassessment_months = 4\n',
        encoding="utf-8",
    )
    registry = load_directories([SHIPPED_INSTRUMENTS, tmp_path])
    savry = registry.get("savry-style", "1.0")
    earl = registry.get("earl-20b-style", "1.0")
    assert savry is not None and earl is not None
    assert (savry.reassessment_months, earl.reassessment_months) == (4, 6)
    # A definition read back from the database gets the same local routine.
    assert registry.manual_for(parse_instrument(SAVRY)).reassessment_months == 4


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "reassessment_months = 0",
            "routine.toml: header: 'reassessment_months' must be at least 1",
        ),
        (
            'reassessment_months = "sex"',
            "routine.toml: header: 'reassessment_months' must be a whole number",
        ),
        ("reassessment_weeks = 4", "routine.toml: header: unknown field 'reassessment_weeks'"),
        ("", "routine.toml: guidance: must hold at least one [guidance.<item code>] table"),
    ],
)
def test_broken_routine_overlay_is_reported(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "routine.toml").write_text(
        f'overlay = 1\ninstrument = "savry-style"\nversion = "1.0"\n{line}\n', encoding="utf-8"
    )
    with pytest.raises(InstrumentError) as caught:
        load_directories([SHIPPED_INSTRUMENTS, tmp_path])
    assert message in caught.value.problems


def test_cli_validates_overlay_files_too() -> None:
    files = [str(p) for p in sorted(SHIPPED_INSTRUMENTS.glob("*.toml"))]
    result = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "instruments", "validate", *files],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(files)} file(s) valid." in result.stdout
