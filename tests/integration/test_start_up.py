"""What create_app refuses or leaves behind, as every server process runs it at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.pool import QueuePool

from riskassess.app import create_app
from riskassess.core import migrate
from riskassess.core.db import make_engine, make_session_factory, transaction
from riskassess.core.installation import ModeMismatch, claim_mode
from tests.conftest import make_settings


def test_a_demo_database_is_refused_in_production(tmp_path: Path, keyring_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        claim_mode(session, "demo")
    engine.dispose()
    with pytest.raises(ModeMismatch, match="belongs to demo mode"):
        create_app(make_settings(url, keyring_path))


def test_an_uninitialised_database_is_refused(tmp_path: Path, keyring_path: Path) -> None:
    with pytest.raises(ModeMismatch, match="riskassess db upgrade"):
        create_app(make_settings(f"sqlite:///{tmp_path / 'empty.sqlite'}", keyring_path))


def test_flask_debug_in_the_environment_does_not_switch_debug_on(
    database_url: str, keyring_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")  # Flask would read it by itself
    flask_app = create_app(make_settings(database_url, keyring_path))
    try:
        assert flask_app.debug is False
    finally:
        flask_app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_start_up_leaves_no_database_connection_open(database_url: str, keyring_path: Path) -> None:
    """So an app made before gunicorn forks its workers (--preload) shares no connection."""
    flask_app = create_app(make_settings(database_url, keyring_path))
    engine = flask_app.extensions["riskassess"].session_factory.kw["bind"]
    try:
        assert isinstance(engine.pool, QueuePool)
        assert (engine.pool.checkedin(), engine.pool.checkedout()) == (0, 0)
        assert flask_app.test_client().get("/readyz").status_code == 200
        # Readiness on PostgreSQL goes through the pool, and gives the connection back.
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()
