"""/healthz and /readyz: public, short JSON, no session, no audit entry; /readyz fails (503)
when the database, the keyring or the instruments cannot serve."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.app import create_app
from riskassess.core import migrate
from riskassess.core.audit import AuditEntry
from riskassess.core.crypto import Keyring
from riskassess.instruments.loader import InstrumentRegistry
from riskassess.web import AppState
from tests.conftest import World, claim_database, make_settings

EVERY_CHECK = {"database": "ok", "keyring": "ok", "instruments": "ok"}


def _audit_count(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _dispose(flask_app: Flask) -> None:
    flask_app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_healthz_says_alive_and_touches_nothing(client: FlaskClient, db: Session) -> None:
    before = _audit_count(db)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert _audit_count(db) == before


def test_readyz_names_each_check_and_nothing_else(
    client: FlaskClient, db: Session, world: World, keyring_path: Path
) -> None:
    world.case(world.user("cw.north", "caseworker", world.unit("nord")))
    before = _audit_count(db)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": EVERY_CHECK}
    assert "Set-Cookie" not in response.headers
    assert str(keyring_path) not in response.get_data(as_text=True)
    assert _audit_count(db) == before  # not a case read, not anything


@pytest.fixture
def own_keyring(keyring_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "keyring.json"
    shutil.copy(keyring_path, path)
    path.chmod(0o600)
    return path


@pytest.fixture
def served(database_url: str, own_keyring: Path) -> Iterator[Flask]:
    """A server reading a keyring file this test may replace."""
    flask_app = create_app(make_settings(database_url, own_keyring))
    yield flask_app
    _dispose(flask_app)


def _readyz(flask_app: Flask) -> tuple[int, dict[str, object]]:
    response = flask_app.test_client().get("/readyz")
    return response.status_code, response.get_json()


def test_readyz_fails_when_the_keyring_file_is_wrong_or_gone(
    served: Flask, own_keyring: Path, world: World
) -> None:
    world.case(world.user("cw.north", "caseworker", world.unit("nord")))
    good = own_keyring.read_bytes()
    own_keyring.unlink()
    Keyring.generate().save_new(own_keyring)  # another installation's keyring
    status, body = _readyz(served)
    assert status == 503
    assert body == {"status": "unready", "checks": {**EVERY_CHECK, "keyring": "fail"}}
    own_keyring.unlink()
    assert _readyz(served)[0] == 503  # no keyring at all
    own_keyring.write_bytes(good)
    assert _readyz(served) == (200, {"status": "ready", "checks": EVERY_CHECK})


def test_readyz_fails_when_a_keyring_with_the_same_index_key_lacks_a_used_key(
    served: Flask, own_keyring: Path, world: World
) -> None:
    world.case(world.user("cw.north", "caseworker", world.unit("nord")))
    ring = Keyring.load(own_keyring)
    stale, _new = ring.with_new_kek(activate=True)
    stale = stale.without_kek(ring.active_kek_id)  # a copy that lost the key in use
    stale.replace_file(own_keyring)
    status, body = _readyz(served)
    assert status == 503 and body["checks"] == {**EVERY_CHECK, "keyring": "fail"}


def test_readyz_fails_without_instruments(served: Flask) -> None:
    state: AppState = served.extensions["riskassess"]
    loaded = state.instruments
    object.__setattr__(state, "instruments", InstrumentRegistry([]))
    try:
        status, body = _readyz(served)
    finally:
        object.__setattr__(state, "instruments", loaded)
    assert status == 503 and body["checks"] == {**EVERY_CHECK, "instruments": "fail"}


def test_readyz_fails_while_the_sqlite_file_is_gone(tmp_path: Path, keyring_path: Path) -> None:
    path = tmp_path / "ready.sqlite"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    claim_database(url)
    flask_app = create_app(make_settings(url, keyring_path))
    try:
        assert _readyz(flask_app)[0] == 200
        path.rename(tmp_path / "moved.sqlite")
        status, body = _readyz(flask_app)
        assert status == 503
        # The keyring file still loads; whether it matches the data cannot be asked.
        assert body["checks"] == {**EVERY_CHECK, "database": "fail"}
        assert not path.exists()  # the probe never creates an empty database in its place
        (tmp_path / "moved.sqlite").rename(path)
        assert _readyz(flask_app)[0] == 200
    finally:
        _dispose(flask_app)
