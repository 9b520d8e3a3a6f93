"""Declarative base, engine set-up and the one commit point.

Services add, change and flush; they never commit. A web request commits once in
`commit_request` (see app.py) and a CLI command once in `transaction()`. On SQLite every
transaction starts with BEGIN IMMEDIATE so that audit appends are serialized (every request
writes at least one audit entry, so every request is a writer anyway).

The statements that pages run on every request are built once, by `functools.cache`
functions, with `bindparam` for their values. A statement built afresh costs its
construction, its cache key and the adaptation of its result columns to the cached
compilation on every execution: about 0.2 ms each on the 2-core benchmark machine, a
sizable part of a page's time (benchmarks/README.md, issue 17).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

PG_CONNECT_TIMEOUT = 10  # seconds
# Pooled PostgreSQL connections are replaced after this long, before the idle timeouts of
# firewalls and connection poolers cut them.
PG_POOL_RECYCLE = 1800  # seconds

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def private_sqlite_file(url: str) -> None:
    """Create a SQLite database file readable by its owner only (or make an existing one so)
    before SQLite opens it: SQLite gives its -wal and -shm files the database file's mode."""
    path = make_url(url).database
    if not url.startswith("sqlite") or not path or path == ":memory:":
        return
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    # Only a new file is opened here: closing a descriptor of a database this process already
    # has open would drop SQLite's POSIX locks on it (and can corrupt it).
    if not file.exists():
        with suppress(FileExistsError):
            os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for each in (file, Path(f"{file}-wal"), Path(f"{file}-shm")):
        if each.exists() and each.stat().st_mode & 0o077:
            each.chmod(0o600)


def sqlite_uri(path: Path, mode: str) -> str:
    """A SQLite URI that opens an existing file read-only ("ro") or read-write without ever
    creating it ("rw"); the path is quoted, so "?", "#" or "%" in it stay part of the name."""
    return f"file:{quote(str(path.resolve()))}?mode={mode}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Statement parameters (ciphertext, blind-index values, usernames) never appear in an
    # error message or a log line.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in make_url(url).query:
        # An unreachable server fails a request (and /readyz) in seconds, not after TCP's
        # own minutes-long timeout.
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT
    # No pre-ping: it is a round trip on every checkout, that is on every request. A connection
    # the server has dropped (a restart, an idle timeout) fails the statement it is used for;
    # the disconnect is then recognised (`_drop_dead_connections`), that connection and every
    # older one in the pool are discarded, and the next request connects afresh.
    kwargs.setdefault("pool_recycle", PG_POOL_RECYCLE)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "handle_error", _drop_dead_connections)
    return engine


def _drop_dead_connections(context: ExceptionContext) -> None:
    """Treat any error on a connection the driver reports closed as a disconnect, so the pool
    discards it (SQLAlchemy recognises the common messages itself; this catches the rest)."""
    if context.is_disconnect or context.connection is None:
        return
    try:
        driver = context.connection.connection.driver_connection
    except (AttributeError, InvalidRequestError):  # already invalidated or closed
        return
    if getattr(driver, "closed", False):
        context.is_disconnect = True


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for a CLI command: commit once at the end, or roll back everything."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
