"""Training never touches real data: the demo refuses a production database, production
refuses the demo's, and `riskassess demo --reset` deletes nothing but the demo's own database.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.orm import Session

from riskassess.accounts import services as accounts
from riskassess.accounts.models import Unit
from riskassess.app import create_app
from riskassess.assessments.models import Assessment
from riskassess.cli_support import with_session
from riskassess.config import Settings, load_settings
from riskassess.core.audit import AuditEntry, verify_chain
from riskassess.core.installation import ModeMismatch
from riskassess.training.cli import prepare_demo
from riskassess.training.demo import check_demo_database, reset_demo
from riskassess.training.seed import SEED_ACTOR
from tests.conftest import drop_postgres_schema, make_settings, postgres_schema_url, skip_or_fail


def _demo_settings(instance: Path, database_url: str | None = None) -> Settings:
    env = {"RISKASSESS_INSTANCE_PATH": str(instance)}
    if database_url is not None:
        env["RISKASSESS_DATABASE_URL"] = database_url
    settings = load_settings(env, mode="demo")
    return settings.with_overrides(password_time_cost=1, password_memory_kib=64)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dispose(app: object) -> None:
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the demo's own: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'demo.sqlite'}"
        return
    base = os.environ.get("RISKASSESS_TEST_POSTGRES_URL")
    if not base:
        skip_or_fail("RISKASSESS_TEST_POSTGRES_URL is not set")
        return
    url, schema = postgres_schema_url(base)
    try:
        yield url
    finally:
        drop_postgres_schema(base, schema)


def _seeded_state(session: Session) -> tuple[int, int, Counter[tuple[str, str, str]]]:
    units = session.scalar(select(func.count()).select_from(Unit)) or 0
    entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    states = Counter(
        (a.instrument_id, a.kind, a.state) for a in session.scalars(select(Assessment))
    )
    return units, entries, states


def test_reset_restores_the_seeded_state(tmp_path: Path, demo_database_url: str) -> None:
    settings = prepare_demo(_demo_settings(tmp_path / "instance", demo_database_url))
    seeded = with_session(settings, _seeded_state)
    keyring = _digest(settings.keyring_path)

    # A classroom's day: a unit made, and a checkpoint of the log signed beside it.
    with_session(settings, lambda s: accounts.create_unit(s, SEED_ACTOR, "kurs", "Kursenhet"))
    settings.audit_checkpoints_path.write_text("a checkpoint of the old log\n")
    assert with_session(settings, _seeded_state) != seeded

    check_demo_database(settings)
    moved = reset_demo(settings)
    assert moved is not None and moved.read_text() == "a checkpoint of the old log\n"
    assert not settings.audit_checkpoints_path.exists()
    settings = prepare_demo(settings)

    assert with_session(settings, _seeded_state) == seeded
    assert with_session(settings, lambda s: verify_chain(s).ok)
    # The keyring is kept: it wraps nothing of the deleted data and may not be the demo's alone.
    assert _digest(settings.keyring_path) == keyring
    _dispose(create_app(settings))


def test_reset_refuses_a_production_database(
    tmp_path: Path, database_url: str, keyring_path: Path
) -> None:
    """The session's test database belongs to production mode, on SQLite and PostgreSQL."""
    settings = _demo_settings(tmp_path, database_url)
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        with pytest.raises(ModeMismatch, match="never uses, migrates or deletes"):
            reset_demo(settings)
        assert set(inspect(engine).get_table_names()) == tables
    finally:
        engine.dispose()
    # Production settings are refused before the database is even looked at.
    with pytest.raises(ModeMismatch, match="Only demo mode"):
        check_demo_database(make_settings(database_url, keyring_path))


def test_reset_refuses_a_database_that_records_no_mode(tmp_path: Path) -> None:
    file = tmp_path / "other.sqlite"
    engine = create_engine(f"sqlite:///{file}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE ledger (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    before = _digest(file)
    with pytest.raises(ModeMismatch, match="records no mode"):
        reset_demo(_demo_settings(tmp_path, f"sqlite:///{file}"))
    assert _digest(file) == before


def _production_database(tmp_path: Path, keyring_path: Path) -> tuple[Path, str]:
    file = tmp_path / "production.sqlite"
    url = f"sqlite:///{file}"
    from riskassess.cli_support import upgrade

    upgrade(make_settings(url, keyring_path))
    return file, url


def _cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riskassess.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        input=stdin,
        env=dict(os.environ) | env,
    )


def test_cli_reset_refuses_a_production_database(tmp_path: Path, keyring_path: Path) -> None:
    file, url = _production_database(tmp_path, keyring_path)
    before = _digest(file)
    result = _cli(
        ["demo", "--reset", "--yes"],
        {"RISKASSESS_DATABASE_URL": url, "RISKASSESS_INSTANCE_PATH": str(tmp_path)},
    )
    assert result.returncode == 1
    assert "belongs to production mode" in result.stderr
    assert "Traceback" not in result.stderr
    assert _digest(file) == before


def test_cli_reset_asks_first(tmp_path: Path) -> None:
    settings = prepare_demo(_demo_settings(tmp_path))
    seeded = with_session(settings, _seeded_state)
    result = _cli(["demo", "--reset"], {"RISKASSESS_INSTANCE_PATH": str(tmp_path)}, "n\n")
    assert result.returncode == 1
    assert "course results included" in result.stdout
    assert "Aborted" in result.stderr
    assert with_session(settings, _seeded_state) == seeded


def test_demo_refuses_a_production_database(
    tmp_path: Path, database_url: str, keyring_path: Path
) -> None:
    settings = _demo_settings(tmp_path / "instance", database_url)
    with pytest.raises(ModeMismatch, match="belongs to production mode"):
        prepare_demo(settings)
    # Refused before the demo made its keyring or migrated anything.
    assert not settings.keyring_path.exists()
    with pytest.raises(ModeMismatch, match="belongs to production mode"):
        create_app(settings.with_overrides(keyring_path=keyring_path))


def test_demo_leaves_a_production_file_untouched(tmp_path: Path, keyring_path: Path) -> None:
    file, url = _production_database(tmp_path, keyring_path)
    before = _digest(file)
    with pytest.raises(ModeMismatch, match="belongs to production mode"):
        prepare_demo(_demo_settings(tmp_path / "instance", url))
    assert _digest(file) == before


def test_production_refuses_the_demo_database(tmp_path: Path, keyring_path: Path) -> None:
    demo = prepare_demo(_demo_settings(tmp_path))
    with pytest.raises(ModeMismatch, match="belongs to demo mode"):
        create_app(make_settings(demo.database_url, demo.keyring_path))
    with pytest.raises(ModeMismatch, match="belongs to demo mode"):
        create_app(make_settings(demo.database_url, keyring_path))
