"""What every command of the `riskassess` CLI shares: operator errors as one line and exit
code 1 (never a traceback), settings, and short transactions on a short-lived engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from riskassess.config import ConfigError, Settings, load_settings
from riskassess.core import migrate
from riskassess.core.audit import Actor
from riskassess.core.backup import BackupError
from riskassess.core.crypto import KeyringError
from riskassess.core.db import make_engine, make_session_factory, private_sqlite_file, transaction
from riskassess.core.installation import ModeMismatch, claim_mode
from riskassess.errors import DomainError
from riskassess.instruments.loader import InstrumentError
from riskassess.training.vignettes import VignetteError

CLI_ACTOR = Actor.system("cli")
T = TypeVar("T")


@contextmanager
def operator_errors() -> Iterator[None]:
    """Turn the errors an operator can cause into a message and exit code 1."""
    try:
        yield
    except InstrumentError as exc:
        raise click.ClickException(
            "Instrument files have problems:\n" + "\n".join(exc.problems)
        ) from None
    except VignetteError as exc:
        raise click.ClickException(
            "Vignette files have problems:\n" + "\n".join(exc.problems)
        ) from None
    except (BackupError, ConfigError, KeyringError, ModeMismatch, DomainError) as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError as exc:
        raise click.ClickException(f"The database cannot be used: {exc.orig}") from None


def settings_for(mode: str | None = None) -> Settings:
    """The settings from the environment; `mode` (from a command's option) wins."""
    return load_settings(mode=mode)


def ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def upgrade(settings: Settings) -> None:
    ensure_sqlite_folder(settings.database_url)
    migrate.upgrade(settings.database_url)
    with_session(settings, lambda session: claim_mode(session, settings.mode))


def with_session(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run one unit of work in its own transaction on a short-lived engine."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return work(session)
    finally:
        engine.dispose()


def read_only(settings: Settings, work: Callable[[Session], T]) -> T:
    """Read-only work on one consistent snapshot that does not hold up the app's writers
    (SQLite: a deferred transaction instead of BEGIN IMMEDIATE)."""
    import sqlite3

    from sqlalchemy import create_engine
    from sqlalchemy.engine import Connection

    url = settings.database_url
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy's begin event emits BEGIN

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN")
    else:
        engine = make_engine(url)
    try:
        with Session(engine) as session:
            try:
                return work(session)
            finally:
                session.expunge_all()  # keep what was read, loaded, for the caller
                session.rollback()
    finally:
        engine.dispose()
