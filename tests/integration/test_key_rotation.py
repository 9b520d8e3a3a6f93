"""Key rotation, status and retirement as an operator runs them, on each database, while an app
server keeps running with the keyring it read at start-up; and the start-up refusal of a
keyring that does not belong to the database."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from riskassess.app import create_app
from riskassess.cli import main
from riskassess.core.audit import AuditEntry
from riskassess.core.crypto import Keyring, KeyringError
from riskassess.core.db import make_engine, make_session_factory
from riskassess.core.keys import DataKey, rewrap_data_keys
from tests.conftest import TEST_ACTOR, World, csrf, make_settings

NAME = "Rotationa Nyckelsdotter"  # fictional


@pytest.fixture
def own_keyring(keyring_path: Path, tmp_path: Path) -> Path:
    """A copy of the suite's keyring that this test may rotate."""
    path = tmp_path / "keyring.json"
    shutil.copy(keyring_path, path)
    path.chmod(0o600)
    return path


def _cli(database_url: str, keyring: Path, *args: str) -> Result:
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring),
        "RISKASSESS_MODE": "production",
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def served(database_url: str, own_keyring: Path) -> Iterator[Flask]:
    """A second app server on the same database, reading the rotatable keyring."""
    flask_app = create_app(make_settings(database_url, own_keyring))
    yield flask_app
    flask_app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def _login(client: FlaskClient, username: str) -> None:
    from tests.conftest import PASSWORD

    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")},
    )
    assert response.status_code == 302


def _kek_counts(db: Session) -> dict[str, int]:
    db.rollback()
    rows = db.execute(select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id)).all()
    return {kek: n for kek, n in rows}


def _actions(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_rotation_rewraps_every_data_key_while_a_server_keeps_running(
    world: World, db: Session, database_url: str, own_keyring: Path, served: Flask
) -> None:
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    cases = [world.case(owner, name=NAME) for _ in range(5)]
    old_kek = Keyring.load(own_keyring).active_kek_id

    result = _cli(database_url, own_keyring, "keys", "rotate", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    ring = Keyring.load(own_keyring)
    assert ring.active_kek_id != old_kek and old_kek in ring.keks  # the old key is kept
    assert _kek_counts(db) == {ring.active_kek_id: 5}
    assert len(_actions(db, "crypto:data_key:rewrap")) == 3  # 2 + 2 + 1: a commit per batch
    assert len(_actions(db, "crypto:kek:create")) == 1

    # The server read the keyring before the rotation and was never restarted.
    client = served.test_client()
    _login(client, "cw.north")
    page = client.get(f"/cases/{cases[0].id}")
    assert page.status_code == 200 and NAME in page.get_data(as_text=True)
    created = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(client, "/cases/new"),
            "name": NAME,
            "personnummer": "20120101-9815",
            "birth_date": "2012-01-01",
            "sex": "female",
        },
    )
    assert created.status_code == 302
    assert _kek_counts(db) == {ring.active_kek_id: 6}  # new data keys use the new key

    status = _cli(database_url, own_keyring, "keys", "status")
    assert status.exit_code == 0
    assert f"{ring.active_kek_id}" in status.output and "active" in status.output
    assert "6 data key(s)" in status.output and "Rotation unfinished" not in status.output


def test_an_interrupted_rotation_continues_where_it_stopped(
    world: World, db: Session, database_url: str, own_keyring: Path
) -> None:
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    for _ in range(5):
        world.case(owner)
    ring, new_kek = Keyring.load(own_keyring).with_new_kek(activate=True)
    ring.replace_file(own_keyring)

    class Interrupted(Exception):
        pass

    def stop_after_first_batch(_progress: object) -> None:
        raise Interrupted

    engine = make_engine(database_url)
    try:
        with pytest.raises(Interrupted):
            rewrap_data_keys(
                make_session_factory(engine),
                ring,
                TEST_ACTOR,
                batch_size=2,
                progress=stop_after_first_batch,
            )
    finally:
        engine.dispose()
    counts = _kek_counts(db)
    assert counts[new_kek] == 2 and sum(counts.values()) == 5  # the first batch was committed

    status = _cli(database_url, own_keyring, "keys", "status")
    assert "Rotation unfinished: 3 data key(s)" in status.output
    result = _cli(database_url, own_keyring, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "Continuing the unfinished rotation" in result.output
    assert Keyring.load(own_keyring).keks.keys() == ring.keks.keys()  # no further key
    assert _kek_counts(db) == {new_kek: 5}


def test_stage_then_activate_for_several_hosts(
    world: World, db: Session, database_url: str, own_keyring: Path
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    world.case(owner)
    old_kek = Keyring.load(own_keyring).active_kek_id
    staged = _cli(database_url, own_keyring, "keys", "rotate", "--stage")
    assert staged.exit_code == 0, staged.output
    ring = Keyring.load(own_keyring)
    new_kek = next(k for k in ring.keks if k != old_kek)
    assert ring.active_kek_id == old_kek and _kek_counts(db) == {old_kek: 1}
    assert f"--activate {new_kek}" in staged.output

    activated = _cli(database_url, own_keyring, "keys", "rotate", "--activate", new_kek)
    assert activated.exit_code == 0, activated.output
    assert Keyring.load(own_keyring).active_kek_id == new_kek
    assert _kek_counts(db) == {new_kek: 1}

    retired = _cli(database_url, own_keyring, "keys", "retire", old_kek)
    assert retired.exit_code == 0, retired.output
    assert set(Keyring.load(own_keyring).keks) == {new_kek}
    assert [e.object_id for e in _actions(db, "crypto:kek:retire")] == [old_kek]


def test_retire_refuses_a_key_still_in_use_or_active(
    world: World, db: Session, database_url: str, own_keyring: Path
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    world.case(owner)
    old_kek = Keyring.load(own_keyring).active_kek_id
    assert _cli(database_url, own_keyring, "keys", "rotate", "--stage").exit_code == 0
    new_kek = next(k for k in Keyring.load(own_keyring).keks if k != old_kek)
    in_use = _cli(database_url, own_keyring, "keys", "retire", new_kek)
    assert in_use.exit_code == 0  # staged, wraps nothing: may go
    active = _cli(database_url, own_keyring, "keys", "retire", old_kek)
    assert active.exit_code == 1 and "active key" in active.output
    assert "Traceback" not in active.output
    unknown = _cli(database_url, own_keyring, "keys", "retire", "kek-nothere")
    assert unknown.exit_code == 1 and "no key" in unknown.output
    both = _cli(database_url, own_keyring, "keys", "rotate", "--stage", "--activate", "x")
    assert both.exit_code == 1 and "not both" in both.output


def test_a_wrong_keyring_stops_start_up_and_rotation(
    world: World, db: Session, database_url: str, tmp_path: Path, own_keyring: Path
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    world.case(owner)
    stranger = tmp_path / "other-keyring.json"
    Keyring.generate().save_new(stranger)
    with pytest.raises(KeyringError, match="lacks key"):
        create_app(make_settings(database_url, stranger))
    # Same key id, other key bytes: the id is there but nothing unwraps.
    ring = Keyring.load(own_keyring)
    forged = tmp_path / "forged-keyring.json"
    Keyring(
        ring.active_kek_id, {ring.active_kek_id: os.urandom(32)}, ring.blind_index_key
    ).save_new(forged)
    with pytest.raises(KeyringError, match="does not unwrap"):
        create_app(make_settings(database_url, forged))
    result = _cli(database_url, stranger, "keys", "rotate")
    assert result.exit_code == 1 and "lacks key" in result.output
    status = _cli(database_url, stranger, "keys", "status")
    assert status.exit_code == 1 and "NOT IN KEYRING" in status.output


def test_check_command_names_a_wrong_keyring_in_one_line(
    world: World, database_url: str, tmp_path: Path
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    world.case(owner)
    stranger = tmp_path / "other-keyring.json"
    Keyring.generate().save_new(stranger)
    env = {
        **os.environ,
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(stranger),
        "RISKASSESS_MODE": "production",
        "RISKASSESS_SECRET_KEY": secrets.token_urlsafe(32),
    }
    env.pop("RISKASSESS_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "lacks key" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_data_key_that_does_not_unwrap_is_audited_and_left_alone(
    world: World, db: Session, database_url: str, own_keyring: Path
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    good, bad = world.case(owner), world.case(owner)
    db.execute(
        update(DataKey)
        .where(DataKey.id == bad.data_key_id)
        .values(wrapped_key=db.get(DataKey, good.data_key_id).wrapped_key)  # type: ignore[union-attr]
    )
    db.commit()
    old_kek = Keyring.load(own_keyring).active_kek_id
    # The keyring check passes (another data key of the same key unwraps); rotation notices.
    result = _cli(database_url, own_keyring, "keys", "rotate")
    assert result.exit_code == 1 and "did not unwrap" in result.output
    failures = _actions(db, "crypto:data_key:unwrap")
    assert [e.object_id for e in failures] == [str(bad.data_key_id)]
    assert failures[0].outcome == "failure"
    db.rollback()
    stuck = db.get(DataKey, bad.data_key_id)
    assert stuck is not None and stuck.kek_id == old_kek
