"""Training vignettes: the shipped ones are complete against their instruments, and broken
files give one clear line per problem, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskassess.assessments.content import OMITTED, submission_problems
from riskassess.config import SHIPPED_INSTRUMENTS, SHIPPED_VIGNETTES, load_settings
from riskassess.instruments.loader import (
    InstrumentError,
    InstrumentRegistry,
    load_directories,
    parse_instrument,
)
from riskassess.training.vignettes import VignetteError, load_vignettes, parse_vignette

CORPUS = Path(__file__).parent / "vignette_corpus"
MINI = Path(__file__).parent / "instrument_corpus" / "valid-mini.toml"
BROKEN = sorted(p for p in CORPUS.glob("*.toml") if p.name != "valid-mini.toml")
# Surnames that say "made up" in Swedish; a shipped vignette's child carries one of them.
FICTIONAL = ("Påhitt", "Övning", "Fiktiv", "Låtsas", "Test", "Exempel")


@pytest.fixture(scope="module")
def shipped() -> InstrumentRegistry:
    return load_directories([SHIPPED_INSTRUMENTS])


@pytest.fixture(scope="module")
def mini() -> InstrumentRegistry:
    return InstrumentRegistry([parse_instrument(MINI)])


def _expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: ")
    return f"{path.name}: {first.removeprefix('# expect: ')}"


def test_every_shipped_vignette_is_complete(shipped: InstrumentRegistry) -> None:
    registry = load_vignettes([SHIPPED_VIGNETTES], shipped)
    per_instrument = {
        instrument: len(registry.for_instrument(instrument))
        for instrument in ("savry-style", "earl-20b-style", "earl-21g-style")
    }
    assert per_instrument["savry-style"] >= 3
    assert per_instrument["earl-20b-style"] >= 2
    assert per_instrument["earl-21g-style"] >= 1
    assert {v.judgement.level for v in registry.all()} == {"low", "moderate", "high"}
    for vignette in registry.all():
        instrument = shipped.get(*vignette.instrument_key)
        assert instrument is not None
        assert [r.item for r in vignette.reference] == [i.code for i in instrument.items]
        # Case material from several sources, several paragraphs in all.
        assert len({s.source for s in vignette.sections}) >= 3, vignette.id
        assert sum(s.text.sv.count("\n\n") + 1 for s in vignette.sections) >= 8, vignette.id
        # Some items lack the information to rate them: omitted, with the reason why.
        assert any(r.rating == OMITTED for r in vignette.reference), vignette.id
        assert any(r.is_critical for r in vignette.reference), vignette.id
        assert any(part in vignette.child.name for part in FICTIONAL), vignette.child.name
        # The reference is itself a complete assessment that could be submitted.
        assert submission_problems(instrument, vignette.reference_content()) == []


def test_shipped_vignettes_are_all_found_by_default() -> None:
    settings = load_settings({})
    assert settings.vignettes_dirs == (SHIPPED_VIGNETTES,)
    local = load_settings({"RISKASSESS_VIGNETTES_PATH": f"/a{os.pathsep}/b"})
    assert local.vignettes_dirs == (SHIPPED_VIGNETTES, Path("/a"), Path("/b"))


def test_corpus_is_large_enough(mini: InstrumentRegistry) -> None:
    assert len(BROKEN) >= 15
    vignette = parse_vignette(CORPUS / "valid-mini.toml", mini)
    assert vignette.rating("A2") is not None and vignette.rating("A2").is_omitted  # type: ignore[union-attr]
    assert vignette.sections[1].heading.get("en") == "Talking with the child"
    assert vignette.sections[0].heading.get("en") == "Bakgrund"  # no English: Swedish shown


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_vignette_names_file_place_and_problem(path: Path, mini: InstrumentRegistry) -> None:
    with pytest.raises(VignetteError) as caught:
        parse_vignette(path, mini)
    assert caught.value.problems == [_expected(path)]


def test_the_personnummer_is_not_repeated_in_the_message(mini: InstrumentRegistry) -> None:
    with pytest.raises(VignetteError) as caught:
        parse_vignette(CORPUS / "personnummer-in-text.toml", mini)
    assert "9807" not in str(caught.value)


def test_problems_of_every_file_are_collected(tmp_path: Path, mini: InstrumentRegistry) -> None:
    for name in ("bad-id", "wrong-format", "valid-mini"):
        (tmp_path / f"{name}.toml").write_bytes((CORPUS / f"{name}.toml").read_bytes())
    (tmp_path / "copy.toml").write_bytes((CORPUS / "valid-mini.toml").read_bytes())
    with pytest.raises(VignetteError) as caught:
        load_vignettes([tmp_path, tmp_path / "missing"], mini)
    assert caught.value.problems == [
        f"{tmp_path / 'missing'}: vignette folder or file does not exist",
        _expected(CORPUS / "bad-id.toml"),
        "valid-mini.toml: header: vignette mini-case version 1.0 is already defined in copy.toml",
        _expected(CORPUS / "wrong-format.toml"),
    ]


def test_an_instrument_file_is_not_taken_for_a_vignette(mini: InstrumentRegistry) -> None:
    with pytest.raises(VignetteError) as caught:
        parse_vignette(MINI, mini)
    assert caught.value.problems == ["valid-mini.toml: is an instrument file, not a vignette"]


def test_a_vignette_among_instruments_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "case.toml").write_bytes((CORPUS / "valid-mini.toml").read_bytes())
    with pytest.raises(InstrumentError) as caught:
        load_directories([SHIPPED_INSTRUMENTS, tmp_path])
    assert caught.value.problems == [
        "case.toml: is a training vignette, not an instrument: put it in a vignette folder "
        "(RISKASSESS_VIGNETTES_PATH)"
    ]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "vignettes", "validate", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ) | (env or {}),
    )


def test_cli_validates_the_configured_folders(tmp_path: Path) -> None:
    shipped = len(list(SHIPPED_VIGNETTES.glob("*.toml")))
    result = _cli()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{shipped} vignette file(s) valid."
    # A local folder of licensed course material is checked with the shipped ones.
    (tmp_path / "local.toml").write_text(
        (SHIPPED_VIGNETTES / "savry-liam-1.0.toml")
        .read_text(encoding="utf-8")
        .replace('id = "savry-liam"', 'id = "local-case"'),
        encoding="utf-8",
    )
    result = _cli(env={"RISKASSESS_VIGNETTES_PATH": str(tmp_path)})
    assert result.stdout.strip() == f"{shipped + 1} vignette file(s) valid."


def test_cli_prints_one_line_per_problem_without_traceback(tmp_path: Path) -> None:
    text = (SHIPPED_VIGNETTES / "savry-liam-1.0.toml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(
        text.replace('rating = "moderate"', 'rating = "medium"', 1).replace(
            'level = "low"', 'level = "none"'
        ),
        encoding="utf-8",
    )
    result = _cli(str(broken), str(SHIPPED_VIGNETTES / "savry-jonna-1.0.toml"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "broken.toml: reference 'H10': rating 'medium' is not on the item's scale "
        "(low, moderate, high, or omitted)",
        "broken.toml: judgement: level 'none' is not one of low, moderate, high",
    ]
    assert result.stdout == ""
