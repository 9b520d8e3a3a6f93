"""Instrument files: the shipped ones load, and broken ones give one clear line per problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskassess.config import SHIPPED_INSTRUMENTS
from riskassess.instruments.loader import InstrumentError, load_directories, parse_instrument

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


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = SAVRY.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "age_max = 18",
            "age_max = 10",
            "broken.toml: applies: age range is upside down (12 > 10)",
        ),
        ('code = "H2"', 'code = "H1"', "broken.toml: item 'H1': duplicate item code"),
        (
            'scale = "risk"\ntitle = { sv = "Historiska',
            'scale = "riskk"\ntitle = { sv = "Historiska',
            "broken.toml: item 'H1': unknown scale 'riskk'",
        ),
        (
            'title = { sv = "Tidigare våldsbenägenhet", ',
            "title = { ",
            "broken.toml: item 'H1' title: missing Swedish text (sv)",
        ),
        (
            'levels = ["low", "moderate", "high"]',
            'levels = ["low", "extreme"]',
            "broken.toml: judgement: level 'extreme' is not in scale 'risk'",
        ),
        (
            'sexes = ["female", "male"]',
            'sexes = ["girl"]',
            "broken.toml: applies: 'sexes' must list one or more of female, male",
        ),
        ("schema = 1", "schema = 7", "broken.toml: schema: must be 1"),
        ('id = "savry-style"', 'id = ""', "broken.toml: header: 'id' is missing or empty"),
        ("[title]", "[title", "broken.toml: is not valid TOML"),
    ],
)
def test_broken_file_names_file_place_and_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(_broken(tmp_path, old, new))
    assert any(line.startswith(message) for line in caught.value.problems), caught.value.problems


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
