"""Instruments in use: versions kept forever, eligibility, consistency rules, research index."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.app import create_app
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment
from riskassess.config import SHIPPED_INSTRUMENTS
from riskassess.instruments.loader import InstrumentError, load_directories
from riskassess.instruments.models import InstrumentVersion
from tests.conftest import PASSWORD, World, csrf, make_settings
from tests.integration.casework import with_record

SAVRY_FILE = SHIPPED_INSTRUMENTS / "savry-style-1.0.toml"
EARL_FILE = SHIPPED_INSTRUMENTS / "earl-20b-style-1.0.toml"


@contextmanager
def app_with(database_url: str, keyring_path: Path, folder: Path) -> Iterator[Flask]:
    """A second app on the same database, reading instruments from `folder` only."""
    settings = make_settings(database_url, keyring_path)
    app = create_app(settings.with_overrides(instruments_dirs=(folder,)))
    try:
        yield app
    finally:
        app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def _login(client: FlaskClient, username: str) -> None:
    token = csrf(client, "/login")
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def _full(instrument_items: list[str], high: int, judgement: str) -> Content:
    items = {
        code: ItemRating("high" if n < high else "low", "Fiktiv motivering")
        for n, code in enumerate(instrument_items)
    }
    return with_record(Content(items, judgement, "Fiktiv sammanfattning"))


def test_instrument_outside_target_group_needs_a_reason(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    world.user("sup.north", "supervisor", unit)
    case = world.case(owner, age=15, sex="female")
    login("cw.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Utanför målgruppen" in page or "Outside the target group" in page
    token = csrf(client, f"/cases/{case.id}")
    refused = client.post(
        f"/cases/{case.id}/assessments",
        data={"csrf_token": token, "instrument": "earl-20b-style@1.0"},
        follow_redirects=True,
    )
    assert "ange ett skäl" in refused.get_data(as_text=True).lower()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Assessment)) == 0

    started = client.post(
        f"/cases/{case.id}/assessments",
        data={
            "csrf_token": token,
            "instrument": "earl-20b-style@1.0",
            "eligibility_reason": "Fiktivt skäl: yngre utvecklingsnivå.",
        },
    )
    assert started.status_code == 302
    assessment_id = started.headers["Location"].split("/")[2]
    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("sup.north")
    shown = client.get(f"/assessments/{assessment_id}").get_data(as_text=True)
    assert "Fiktivt skäl: yngre utvecklingsnivå." in shown


def test_consistency_rule_blocks_submission_until_explained(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    case = world.case(owner)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    assessment = assessments.start_assessment(db, world.vault, owner, case, instrument)
    codes = [item.code for item in instrument.risk_items]
    content = _full(codes, high=3, judgement="low")
    for item in instrument.items:
        if item.scale.kind == "protective":
            content.items[item.code] = ItemRating("present", "Fiktivt skydd")
    assessments.save_assessment(
        db, world.vault, owner, case, assessment, content, assessment.lock_version
    )
    db.commit()

    login("cw.north")
    page = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
    assert "minst tre riskfaktorer bedömts som höga" in page
    assert "6 av högst 48" in page  # research index: three High items weigh 2 each
    judgement_page = client.get(f"/assessments/{assessment.id}/judgement").get_data(as_text=True)
    assert "Forskningsindex" not in judgement_page  # never beside the judgement input
    assert "minst tre riskfaktorer bedömts som höga" in judgement_page  # asks for the reason
    submit = client.post(
        f"/assessments/{assessment.id}/submit",
        data={"csrf_token": csrf(client, f"/assessments/{assessment.id}")},
        follow_redirects=True,
    )
    assert "Ett skäl behövs" in submit.get_data(as_text=True)
    db.rollback()
    db.refresh(assessment)
    assert assessment.state == "draft"

    content.rule_reasons["low-with-high-items"] = "Fiktivt: skyddsfaktorerna väger tyngre."
    assessments.save_assessment(
        db, world.vault, owner, case, assessment, content, assessment.lock_version
    )
    assessments.submit_assessment(db, world.vault, owner, case, assessment, instrument)
    db.commit()
    assert assessment.state == "submitted"


def test_changed_file_keeps_old_assessments_and_refuses_silent_edits(
    tmp_path: Path, database_url: str, keyring_path: Path, world: World, db: Session
) -> None:
    folder = tmp_path / "instruments"
    folder.mkdir()
    shutil.copy(SAVRY_FILE, folder / "savry-style-1.0.toml")
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    case = world.case(owner)
    instrument = load_directories([folder]).get("savry-style", "1.0")
    assert instrument is not None
    assessment = assessments.start_assessment(db, world.vault, owner, case, instrument)
    db.commit()
    assert db.get(InstrumentVersion, instrument.content_hash) is not None

    # Same version, changed content: refused at start-up, naming the file.
    original = SAVRY_FILE.read_text(encoding="utf-8")
    renamed = original.replace("Tidigare våldsbenägenhet", "Omdöpt faktor", 1)
    (folder / "savry-style-1.0.toml").write_text(renamed, encoding="utf-8")
    with pytest.raises(InstrumentError) as caught:
        create_app(
            make_settings(database_url, keyring_path).with_overrides(instruments_dirs=(folder,))
        )
    assert caught.value.problems[0].startswith(
        "savry-style-1.0.toml: header: savry-style version 1.0 was changed after assessments"
    )

    # As a new version the change is accepted, and the old assessment still shows version 1.0.
    (folder / "savry-style-1.0.toml").unlink()
    (folder / "savry-style-1.1.toml").write_text(
        renamed.replace('version = "1.0"', 'version = "1.1"', 1), encoding="utf-8"
    )
    with app_with(database_url, keyring_path, folder) as app:
        client = app.test_client()
        _login(client, "cw.north")
        page = client.get(f"/assessments/{assessment.id}").get_data(as_text=True)
        assert "Tidigare våldsbenägenhet" in page and "Omdöpt faktor" not in page

    # With no SAVRY file left at all, the stored definition still renders it.
    shutil.rmtree(folder)
    folder.mkdir()
    shutil.copy(EARL_FILE, folder / EARL_FILE.name)
    with app_with(database_url, keyring_path, folder) as app:
        client = app.test_client()
        _login(client, "cw.north")
        response = client.get(f"/assessments/{assessment.id}")
        assert response.status_code == 200
        assert "H10 Bristande skolprestationer" in response.get_data(as_text=True)


def test_licensed_overlay_is_shown_where_the_guidance_is(
    tmp_path: Path, database_url: str, keyring_path: Path, world: World, db: Session
) -> None:
    folder = tmp_path / "instruments"
    folder.mkdir()
    shutil.copy(SAVRY_FILE, folder / SAVRY_FILE.name)
    (folder / "savry-manual.toml").write_text(
        'overlay = 1\ninstrument = "savry-style"\nversion = "1.0"\n'
        '[guidance.H2]\nsv = "Fiktiv manualtext för H2."\n',
        encoding="utf-8",
    )
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    case = world.case(owner)
    instrument = load_directories([SHIPPED_INSTRUMENTS]).get("savry-style", "1.0")
    assert instrument is not None
    assessment = assessments.start_assessment(db, world.vault, owner, case, instrument)
    db.commit()
    with app_with(database_url, keyring_path, folder) as app:
        client = app.test_client()
        _login(client, "cw.north")
        page = client.get(f"/assessments/{assessment.id}/rate/H").get_data(as_text=True)
        assert "Fiktiv manualtext för H2." in page
