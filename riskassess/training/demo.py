"""Resetting the demo to its seeded state (`riskassess demo --reset`).

Only a database that records itself as the demo's is ever deleted: a production database, a
database of no recorded mode that holds tables, or any setting outside demo mode is refused
before anything is touched. The keyring and the session signing key are kept: they wrap and
sign nothing of the deleted data, and the keyring setting may name a file that is not the
demo's alone. The demo's audit checkpoint file is moved aside, not deleted: its signed heads
belong to the deleted log and would make `riskassess audit verify` of the new one fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, create_engine, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session

from riskassess.config import Settings
from riskassess.core.db import make_engine
from riskassess.core.installation import InstallationSetting, ModeMismatch, database_mode


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ModeMismatch("An in-memory database cannot be reset.")
    return Path(database)


def _check_demo_database(bind: Engine | Connection) -> bool:
    """True if the database holds tables (and is the demo's); refuse any other database."""
    tables = set(inspect(bind).get_table_names())
    if not tables:
        return False
    if InstallationSetting.__tablename__ not in tables:
        raise ModeMismatch(
            "The configured database holds tables but records no mode: it is not the demo's, "
            "and the demo leaves it alone."
        )
    with Session(bind) as session:
        mode = database_mode(session)
    if mode != "demo":
        raise ModeMismatch(
            f"The configured database belongs to {mode or 'no'} mode: the demo never uses, "
            "migrates or deletes any database but its own."
        )
    return True


def check_demo_database(settings: Settings) -> None:
    """Raise ModeMismatch unless the configured database is the demo's, empty or not there
    yet. Checked before the demo migrates, seeds or resets anything."""
    if not settings.is_demo:
        raise ModeMismatch("Only demo mode can use or reset the demo's database.")
    file = _sqlite_file(settings.database_url)
    if file is not None and not file.exists():
        return
    # A plain engine: the app's SQLite set-up would switch a foreign file to WAL mode.
    engine = create_engine(settings.database_url)
    try:
        _check_demo_database(engine)
    finally:
        engine.dispose()


def reset_demo(settings: Settings) -> Path | None:
    """Delete the demo's database (a SQLite file, or every table of another database's
    schema) after checking that it is the demo's. Returns where the old checkpoint file was
    moved, if there was one. Seeding anew is `prepare_demo`'s work."""
    check_demo_database(settings)
    file = _sqlite_file(settings.database_url)
    if file is not None:
        for each in (file, Path(f"{file}-wal"), Path(f"{file}-shm"), Path(f"{file}-journal")):
            each.unlink(missing_ok=True)
    else:
        engine = make_engine(settings.database_url)
        try:
            with engine.begin() as connection:
                # Checked again in the transaction that drops the tables.
                if _check_demo_database(connection):
                    tables = MetaData()
                    tables.reflect(connection)
                    tables.drop_all(connection)
        finally:
            engine.dispose()
    checkpoints = settings.audit_checkpoints_path
    if not checkpoints.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    moved = checkpoints.with_name(f"{checkpoints.name}.before-reset-{stamp}")
    checkpoints.rename(moved)
    return moved
