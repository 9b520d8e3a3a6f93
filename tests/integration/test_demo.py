"""The demo as `make demo` starts it: created on first start, kept across restarts.

A restart must not log out a classroom: the session signing key lives in the demo's instance
folder, readable by its owner only, like the demo keyring.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.accounts.raters import registered_instruments
from riskassess.app import create_app
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.cases.services import age_on, open_identity
from riskassess.cli_support import with_session
from riskassess.config import (
    DEMO_SECRET_FILE,
    SHIPPED_VIGNETTES,
    ConfigError,
    Settings,
    load_settings,
)
from riskassess.core.crypto import Keyring
from riskassess.core.keys import Vault
from riskassess.core.localtime import local_day
from riskassess.instruments.loader import load_directories
from riskassess.reports.models import AssessmentFact
from riskassess.training.cli import prepare_demo
from riskassess.training.seed import DEMO_PASSWORD
from tests.conftest import csrf, make_settings


def _demo_settings(instance: Path) -> Settings:
    settings = load_settings({"RISKASSESS_INSTANCE_PATH": str(instance)}, mode="demo")
    return settings.with_overrides(password_time_cost=1, password_memory_kib=64)


def test_a_restarted_demo_keeps_its_users_logged_in(tmp_path: Path) -> None:
    first = create_app(prepare_demo(_demo_settings(tmp_path)))
    client = first.test_client()
    response = client.post(
        "/login",
        data={
            "username": "handlaggare.a",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf(client, "/login"),
        },
    )
    assert response.status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None

    secret_file = tmp_path / DEMO_SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    written = secret_file.read_text()

    # The restart: settings read anew, the same folder, a new process's app.
    second = create_app(prepare_demo(_demo_settings(tmp_path)))
    assert secret_file.read_text() == written
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    returning = second.test_client()
    returning.set_cookie("session", cookie.value)
    response = returning.get("/cases")
    assert response.status_code == 200, response.headers.get("Location")
    for app in (first, second):
        app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_a_damaged_demo_secret_is_reported_not_replaced(tmp_path: Path) -> None:
    (tmp_path / DEMO_SECRET_FILE).write_text("short\n")
    # The CLI turns this ConfigError into one line for the operator.
    with pytest.raises(ConfigError, match="delete the file"):
        prepare_demo(_demo_settings(tmp_path))
    assert (tmp_path / DEMO_SECRET_FILE).read_text() == "short\n"


def test_the_demo_shows_a_trained_and_an_untrained_rater(tmp_path: Path) -> None:
    """Hanna (handlaggare.a) is registered for SAVRY only: her SAVRY assessments carry no note,
    and starting the EARL-20B-style one for Leo warns her. Cissi, who has the EARL cases, is
    registered for both EARL instruments; Bo is registered for nothing."""
    settings = prepare_demo(_demo_settings(tmp_path))

    def look(session: Session) -> tuple[dict[str, frozenset[str]], set[bool | None]]:
        people = {u.username: u for u in session.scalars(select(User))}
        registered = {
            name: registered_instruments(session, people[name].id)
            for name in ("handlaggare.a", "handlaggare.b", "handlaggare.c", "arbetsledare.a")
        }
        notes = set(session.scalars(select(Assessment.is_rater_registered)))
        return registered, notes

    registered, notes = with_session(settings, look)
    assert registered == {
        "handlaggare.a": frozenset({"savry-style"}),
        "handlaggare.b": frozenset(),
        "handlaggare.c": frozenset({"earl-20b-style", "earl-21g-style"}),
        "arbetsledare.a": frozenset({"savry-style", "earl-20b-style"}),
    }
    assert notes == {True}

    app = create_app(settings)
    client = app.test_client()
    form = {"username": "handlaggare.a", "password": DEMO_PASSWORD}
    client.post("/login", data=form | {"csrf_token": csrf(client, "/login")})
    listing = client.get("/cases").get_data(as_text=True)
    leo = re.search(r'href="(/cases/[0-9a-f-]{36})"[^>]*>[^<]*</a>\s*</td>\s*<td>Leo', listing)
    assert leo is not None, listing[-3000:]
    page = client.get(leo[1]).get_data(as_text=True)
    assert "Du är inte registrerad som utbildad i: EARL-20B" in page
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_the_demo_holds_every_instrument_in_every_state(tmp_path: Path) -> None:
    """A course on any instrument can start at once: each has a case in every workflow
    state, the EARL ones for a boy and a girl in their age range."""
    settings = prepare_demo(_demo_settings(tmp_path))

    def look(session: Session) -> list[tuple[str, str, str, int, str]]:
        vault = Vault(Keyring.load(settings.keyring_path))
        rows = []
        for assessment in session.scalars(select(Assessment)):
            case = session.get(Case, assessment.case_id)
            assert case is not None
            identity = open_identity(session, vault, case)
            age = age_on(identity.birth_date, date.today())
            rows.append(
                (assessment.instrument_id, assessment.kind, assessment.state, age, identity.sex)
            )
        return rows

    rows = with_session(settings, look)
    registry = load_directories(settings.instruments_dirs)
    for instrument_id in ("savry-style", "earl-20b-style", "earl-21g-style"):
        instrument = registry.get(instrument_id, "1.0")
        assert instrument is not None
        mine = [row for row in rows if row[0] == instrument_id]
        # SAVRY-style also has the follow-up sample: 72 first assessments approved, 14 of
        # them superseded by an approved reassessment.
        sample = instrument_id == "savry-style"
        assert {state for _, kind, state, _, _ in mine if kind == "initial"} == {
            "draft",
            "submitted",
            "returned",
            "approved",
            *(["superseded"] if sample else []),
        }, instrument_id
        assert sorted(state for _, kind, state, _, _ in mine if kind == "reassessment") == [
            *(["approved"] * 14 if sample else []),
            "draft",
        ]
        # A draft, a submitted, a returned, an approved, and an approved one reassessed (two
        # rows); SAVRY-style has a second approved one (Sam's) and the sample's 86.
        assert len(mine) == (6 + 86 if sample else 5), instrument_id
        assert all(instrument.applies_to(age, sex) for _, _, _, age, sex in mine)
    earl_children = {(row[0], row[4]) for row in rows if row[0].startswith("earl")}
    assert earl_children == {("earl-20b-style", "male"), ("earl-21g-style", "female")}


def test_the_demo_shows_follow_up_statistics(tmp_path: Path) -> None:
    """The follow-up sample: a manager sees both units' 88 SAVRY-style assessments of the
    last twelve months (86 of the sample, Sam's and Noah's), approved over the whole year,
    with some small counts hidden; a supervisor sees the 56 of Enhet Nord."""
    settings = prepare_demo(_demo_settings(tmp_path))

    def spread(session: Session) -> tuple[int, int]:
        days = [
            local_day(fact.approved_dt)
            for fact in session.scalars(
                select(AssessmentFact).where(AssessmentFact.instrument_id == "savry-style")
            )
        ]
        return len(days), (max(days) - min(days)).days

    counted, span = with_session(settings, spread)
    assert counted == 88 and span > 300
    app = create_app(settings)
    for username, assessed in (("enhetschef", 88), ("arbetsledare.a", 56)):
        client = app.test_client()
        form = {"username": username, "password": DEMO_PASSWORD}
        client.post("/login", data=form | {"csrf_token": csrf(client, "/login")})
        response = client.get("/reports")
        page = response.get_data(as_text=True)
        assert response.status_code == 200, username
        # Without a filter the page opens on the instrument the units use, not the first.
        assert re.search(r'<option selected value="savry-style@1.0">', page), username
        assert f"{assessed} bedömningar räknade" in page, username
        assert "<caption>Sammanfattande bedömning per enhet</caption>" in page
        assert "<caption>Sammanfattande bedömning per kön</caption>" in page
        assert "&lt;5</abbr>" in page and ">x</abbr>" in page
        assert "För få bedömningar under perioden för att visa något antal" not in page
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_the_demo_reads_vignettes_from_a_local_folder(tmp_path: Path) -> None:
    """A trainer drops a file into the folder named by RISKASSESS_VIGNETTES_PATH; the demo
    reads it at its next start, beside the shipped ones."""
    local = tmp_path / "course"
    local.mkdir()
    (local / "my-case.toml").write_text(
        (SHIPPED_VIGNETTES / "earl-21g-tyra-1.0.toml")
        .read_text(encoding="utf-8")
        .replace('id = "earl-21g-tyra"', 'id = "kurs-tyra"'),
        encoding="utf-8",
    )
    settings = load_settings(
        {"RISKASSESS_INSTANCE_PATH": str(tmp_path), "RISKASSESS_VIGNETTES_PATH": str(local)},
        mode="demo",
    ).with_overrides(password_time_cost=1, password_memory_kib=64)
    app = create_app(prepare_demo(settings))
    vignettes = app.extensions["riskassess"].vignettes
    shipped = {path.stem.removesuffix("-1.0") for path in SHIPPED_VIGNETTES.glob("*.toml")}
    assert {v.id for v in vignettes.all()} == shipped | {"kurs-tyra"}
    assert [v.id for v in vignettes.for_instrument("earl-21g-style")] == [
        "earl-21g-tyra",
        "kurs-tyra",
    ]
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_a_broken_vignette_stops_the_demo_with_one_line(tmp_path: Path) -> None:
    local = tmp_path / "course"
    local.mkdir()
    (local / "broken.toml").write_text(
        (SHIPPED_VIGNETTES / "savry-liam-1.0.toml")
        .read_text(encoding="utf-8")
        .replace('item = "K6"', 'item = "K7"'),
        encoding="utf-8",
    )
    env = dict(
        os.environ,
        RISKASSESS_MODE="demo",
        RISKASSESS_INSTANCE_PATH=str(tmp_path / "instance"),
        RISKASSESS_VIGNETTES_PATH=str(local),
    )
    result = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "check"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-3:] == [
        "Error: Vignette files have problems:",
        "broken.toml: reference 'K7': savry-style 1.0 has no item 'K7'",
        "broken.toml: reference: no reference rating for item 'K6'",
    ]
    assert "Traceback" not in result.stderr


def test_production_never_reads_vignettes(database_url: str, keyring_path: Path) -> None:
    """Training exists in demo mode only: a production server starts whatever the vignette
    folders hold, and has none."""
    settings = make_settings(database_url, keyring_path).with_overrides(
        vignettes_dirs=(Path("/nonexistent/vignettes"),)
    )
    app = create_app(settings)
    assert app.extensions["riskassess"].vignettes.all() == []
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()
