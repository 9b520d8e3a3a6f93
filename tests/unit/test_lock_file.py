"""requirements.lock pins every package with its hashes, agrees with pyproject.toml's direct
pins, and is what this environment was installed from (`make install`); requirements-scan.lock
does the same for the scanner's own virtualenv and scan/requirements.in."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from riskassess.config import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements.lock"
SCAN_LOCK = PROJECT_ROOT / "requirements-scan.lock"


@dataclass(frozen=True)
class Locked:
    version: str
    marker: Marker | None
    hashes: int


def _locked(lock: Path = LOCK) -> dict[str, Locked]:
    """name -> pin, from the lock's `name==version ; marker \\` lines and their hash lines."""
    entries: dict[str, Locked] = {}
    text = lock.read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = block.split("\\", 1)[0].strip()
        if not first or first.startswith("#"):
            continue
        requirement = Requirement(first)
        (spec,) = requirement.specifier
        assert spec.operator == "==", first
        entries[canonicalize_name(requirement.name)] = Locked(
            spec.version, requirement.marker, block.count("--hash=sha256:")
        )
    return entries


def _direct_pins() -> list[Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = list(project["project"]["dependencies"])
    for extra in project["project"]["optional-dependencies"].values():
        listed += extra
    for group in project["dependency-groups"].values():
        listed += group
    listed += project["build-system"]["requires"]
    return [Requirement(line) for line in listed]


def test_every_locked_package_has_a_pinned_version_and_hashes() -> None:
    locked = _locked()
    assert len(locked) > 30
    assert {"babel", "werkzeug", "jinja2", "setuptools"} <= set(locked)  # transitive too
    unhashed = sorted(name for name, pin in locked.items() if pin.hashes == 0)
    assert not unhashed


def test_the_lock_agrees_with_the_direct_pins() -> None:
    locked = _locked()
    for requirement in _direct_pins():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        assert locked[name].version in requirement.specifier, (
            f"{name}: pyproject.toml says {requirement.specifier}, the lock "
            f"{locked[name].version}: run `make lock`"
        )


def test_this_environment_holds_exactly_the_locked_versions() -> None:
    for name, pin in _locked().items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue  # for another platform
        installed = metadata.version(name)
        assert installed == pin.version, f"{name} {installed} installed, {pin.version} locked"


def test_the_scan_lock_hashes_every_package_and_agrees_with_its_input() -> None:
    locked = _locked(SCAN_LOCK)
    assert {"wapiti3", "httpx"} <= set(locked)
    assert not sorted(name for name, pin in locked.items() if pin.hashes == 0)
    lines = (PROJECT_ROOT / "scan" / "requirements.in").read_text(encoding="utf-8").splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    assert pins
    for requirement in pins:
        name = canonicalize_name(requirement.name)
        assert locked[name].version in requirement.specifier, "run `make lock-scan`"
