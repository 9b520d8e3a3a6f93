"""Backing up and restoring the database: SQLite's online backup API, or pg_dump and
pg_restore (custom format) for PostgreSQL.

A backup holds the database only: ciphertext, wrapped data keys and the audit log. The keyring
is never in it, and must be backed up apart (other storage, other people): a backup and its
keyring together reveal everything. Backup files are created readable by their owner only
(0600), written under a temporary name and linked into place when complete, so a crash never
leaves something that looks like a backup; an existing file is never overwritten.

A restore refuses a database that already holds tables unless told to replace them (`force`),
refuses a backup of the other mode (demo/production), then brings the schema up to date and
records the restore in the audit log.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess  # runs pg_dump and pg_restore from PATH, never through a shell  # nosec B404
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from riskassess.core import audit, migrate
from riskassess.core.db import (
    make_engine,
    make_session_factory,
    private_sqlite_file,
    sqlite_uri,
    transaction,
)

RESTORE_ACTION = "admin:database:restore"
INSTALL_CLIENT = "install the PostgreSQL client (Debian: apt-get install postgresql-client)"
# Tables only riskassess has: a database or archive without them is not one of ours.
OWN_TABLES = ("installation_setting", "audit_entry", "data_key")


class BackupError(Exception):
    """A backup or restore cannot be done; the message is meant for the operator."""


@dataclass(frozen=True)
class Contents:
    """What a backup holds, as the operator checks it: the mode, the newest audit entry
    (compare it with a signed checkpoint) and how many live data keys (cases, samples)."""

    mode: str
    audit_head: int
    data_keys: int


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# --- files ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _new_private_file(target: Path) -> Iterator[tuple[Path, int]]:
    """A temporary 0600 file beside `target`, linked to `target` when the block succeeds;
    `target` must not exist (it is never overwritten)."""
    if target.exists():
        raise BackupError(f"{target} already exists; a backup never overwrites a file.")
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupError(f"{target} cannot be written: {exc.strerror}.") from None
    try:
        yield temp, fd
        os.fsync(fd)
        try:
            os.link(temp, target)  # unlike a rename, never replaces a file made meanwhile
        except FileExistsError:
            raise BackupError(f"{target} was created meanwhile; it was left alone.") from None
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        os.close(fd)
        temp.unlink(missing_ok=True)


# --- SQLite --------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _sqlite_contents(connection: sqlite3.Connection, where: str) -> Contents:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    if not set(OWN_TABLES) <= tables:
        raise BackupError(f"{where} is not a riskassess database.")
    mode = connection.execute(
        "SELECT value FROM installation_setting WHERE key = 'mode'"
    ).fetchone()
    head = connection.execute("SELECT coalesce(max(seq), 0) FROM audit_entry").fetchone()
    keys = connection.execute("SELECT count(*) FROM data_key WHERE destroyed_dt IS NULL").fetchone()
    if mode is None:
        raise BackupError(f"{where} has not been initialised (no mode).")
    return Contents(str(mode[0]), int(head[0]), int(keys[0]))


def _sqlite_check(connection: sqlite3.Connection, where: str) -> None:
    result = connection.execute("PRAGMA quick_check").fetchone()
    if result is None or result[0] != "ok":
        raise BackupError(f"{where} is damaged: {result[0] if result else 'no answer'}.")


def _backup_sqlite(url: str, target: Path) -> Contents:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"No database at {source_path}.")
    source = sqlite3.connect(sqlite_uri(source_path, "rw"), uri=True, timeout=30)
    try:
        with _new_private_file(target) as (temp, _fd):
            copy = sqlite3.connect(temp)
            try:
                # One step: a consistent copy while the app goes on (WAL readers do not block
                # writers); the copy is a single file, without -wal or -shm.
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
                _sqlite_check(copy, str(target))
                contents = _sqlite_contents(copy, str(source_path))
            finally:
                copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"The database at {source_path} could not be copied: {exc}.") from None
    finally:
        source.close()
    return contents


def _sqlite_has_tables(path: Path) -> int:
    if not path.exists() or path.stat().st_size == 0:
        return 0
    try:
        connection = sqlite3.connect(sqlite_uri(path, "ro"), uri=True, timeout=30)
        try:
            row = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database: {exc}; it was left alone.") from None
    return int(row[0])


def _read_sqlite_backup(source: Path) -> Contents:
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    try:
        connection = sqlite3.connect(sqlite_uri(source, "ro"), uri=True)
        try:
            _sqlite_check(connection, str(source))
            return _sqlite_contents(connection, str(source))
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite backup: {exc}.") from None


def _restore_sqlite(url: str, source: Path, force: bool) -> None:
    target = _sqlite_path(url)
    tables = _sqlite_has_tables(target)
    if tables and not force:
        raise BackupError(
            f"The database at {target} already holds {tables} table(s). A restore replaces "
            "all of it: stop the servers, keep a backup of it, then run again with --force."
        )
    private_sqlite_file(url)
    backup = sqlite3.connect(sqlite_uri(source, "ro"), uri=True)
    restored = sqlite3.connect(target, timeout=30)
    try:
        backup.backup(restored)  # through SQLite's locks, even if the file is open elsewhere
    except sqlite3.Error as exc:
        raise BackupError(f"The database at {target} could not be written: {exc}.") from None
    finally:
        restored.close()
        backup.close()


# --- PostgreSQL ----------------------------------------------------------------------------


def _client(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} was not found: {INSTALL_CLIENT}.")
    return found


def _client_major(program: str) -> int:
    done = subprocess.run(  # noqa: S603 - a list of arguments, no shell  # nosec B603
        [program, "--version"], capture_output=True, text=True, check=False
    )
    found = re.search(r"\) (\d+)", done.stdout)
    if done.returncode != 0 or found is None:
        raise BackupError(f"{program} --version did not answer as expected.")
    return int(found.group(1))


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A conninfo string for pg_dump/pg_restore, and the environment that carries the
    password (never on a command line, where other users of the host could see it)."""
    from psycopg.conninfo import make_conninfo

    options: dict[str, str] = {
        key: str(value) for key, value in url.query.items() if isinstance(value, str)
    }
    options.pop("options", None)  # a search_path for the app; the tools name the schema
    if url.host:
        options["host"] = url.host
    if url.port:
        options["port"] = str(url.port)
    if url.username:
        options["user"] = url.username
    if url.database:
        options["dbname"] = url.database
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return make_conninfo(**options), env


def _run(command: list[str], env: dict[str, str], what: str, stdout: int) -> str:
    """Run a PostgreSQL client; its output (when `stdout` is PIPE), or its first error line
    as a BackupError."""
    done = subprocess.run(  # noqa: S603 - a list of arguments, no shell  # nosec B603
        command, env=env, stdout=stdout, stderr=subprocess.PIPE, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        first = next((line for line in message if "error" in line.lower()), None)
        raise BackupError(f"{what} failed: {first or (message[0] if message else 'no message')}")
    return "" if done.stdout is None else done.stdout.decode(errors="replace")


def _current_schema(engine: Engine) -> str | None:
    """The schema the app's tables are in: the first of its search_path."""
    with engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        if schema is not None:
            return str(schema)
        path = str(connection.scalar(text("SHOW search_path")))
    names = [name.strip().strip('"') for name in path.split(",")]
    return next((name for name in names if name and name != "$user"), None)


def _backup_postgres(url: str, target: Path) -> Contents:
    pg_dump = _client("pg_dump")
    engine = make_engine(url)
    try:
        schema = _current_schema(engine)
        if schema is None:
            raise BackupError("The database URL's search_path names no schema that exists.")
        with engine.connect() as connection:
            server = int(connection.scalar(text("SHOW server_version_num")) or 0) // 10000
            client = _client_major(pg_dump)
            if client < server:
                raise BackupError(
                    f"pg_dump {client} cannot dump a PostgreSQL {server} server: install "
                    f"postgresql-client-{server} (pg_dump must be as new as the server)."
                )
            # One snapshot for the dump and for what is reported about it.
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            snapshot = str(connection.scalar(text("SELECT pg_export_snapshot()")))
            if not _own_tables_in(connection, schema):
                raise BackupError(f"Schema {schema} of the database is not a riskassess database.")
            contents = _contents(connection)
            conninfo, env = _libpq(make_url(url))
            with _new_private_file(target) as (_temp, fd):
                _run(
                    [
                        pg_dump,
                        "--format=custom",
                        f"--schema={schema}",
                        f"--snapshot={snapshot}",
                        f"--dbname={conninfo}",
                    ],
                    env,
                    "pg_dump",
                    fd,
                )
            connection.rollback()
    except SQLAlchemyError as exc:
        raise BackupError(f"The database cannot be used: {exc.__cause__ or exc}") from None
    finally:
        engine.dispose()
    return contents


def _contents(connection: Connection) -> Contents:
    mode = connection.scalar(text("SELECT value FROM installation_setting WHERE key = 'mode'"))
    head = connection.scalar(text("SELECT coalesce(max(seq), 0) FROM audit_entry"))
    keys = connection.scalar(text("SELECT count(*) FROM data_key WHERE destroyed_dt IS NULL"))
    if mode is None:
        raise BackupError("The database has not been initialised (no mode).")
    return Contents(str(mode), int(head or 0), int(keys or 0))


def _own_tables_in(connection: Connection, schema: str) -> bool:
    tables = set(
        connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}
        )
    )
    return set(OWN_TABLES) <= tables


@dataclass(frozen=True)
class _Archive:
    schema: str
    mode: str
    listing: list[str]  # pg_restore's table of contents


def _read_archive(pg_restore: str, source: Path) -> _Archive:
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    env = dict(os.environ)
    listing = _run([pg_restore, "--list", str(source)], env, f"Reading {source}", subprocess.PIPE)
    tables: dict[str, str] = {}
    for line in listing.splitlines():
        # "214; 1259 16388 TABLE public audit_entry owner"
        found = re.match(r"\d+; \d+ \d+ TABLE (?!DATA )(\S+) (\S+) ", line)
        if found:
            tables[found.group(2)] = found.group(1)
    if not set(OWN_TABLES) <= set(tables):
        raise BackupError(f"{source} is not a backup of a riskassess database.")
    schemas = set(tables.values())
    if len(schemas) != 1:
        raise BackupError(f"{source} holds tables of several schemas: {', '.join(schemas)}.")
    data = _run(
        [pg_restore, "--data-only", "--table=installation_setting", "--file=-", str(source)],
        env,
        f"Reading {source}",
        subprocess.PIPE,
    )
    mode = next(
        (line.split("\t", 1)[1] for line in data.splitlines() if line.startswith("mode\t")),
        None,
    )
    if mode is None:
        raise BackupError(f"{source} holds a database that was never initialised (no mode).")
    return _Archive(schemas.pop(), mode.strip(), listing.splitlines())


def _restore_postgres(url: str, source: Path, archive: _Archive, force: bool) -> None:
    pg_restore = _client("pg_restore")
    engine = make_engine(url)
    try:
        schema = _current_schema(engine)
        if schema != archive.schema:
            raise BackupError(
                f"The backup holds schema {archive.schema}, but the database URL's search_path "
                f"names {schema}. Restore into a URL whose search_path starts with "
                f"{archive.schema}."
            )
        with engine.connect() as connection:
            tables = connection.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = :schema"),
                {"schema": schema},
            )
            if tables and not force:
                raise BackupError(
                    f"Schema {schema} of the database already holds {tables} table(s). A restore "
                    "replaces them: stop the servers, keep a backup, then run again with --force."
                )
            quoted = engine.dialect.identifier_preparer.quote(schema)
            connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
            connection.commit()
    except SQLAlchemyError as exc:
        raise BackupError(f"The database cannot be used: {exc.__cause__ or exc}") from None
    finally:
        engine.dispose()
    # The schema itself exists already (public always does): restore what is in it.
    wanted = [line for line in archive.listing if not re.search(r" (SCHEMA|COMMENT) - ", line)]
    conninfo, env = _libpq(make_url(url))
    with tempfile.TemporaryDirectory(prefix="riskassess-restore-") as folder:  # mode 0700
        listing = Path(folder) / "contents.list"
        listing.write_text("\n".join(wanted) + "\n", encoding="utf-8")
        command = [
            pg_restore,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",  # all of it or nothing
            f"--use-list={listing}",
            f"--dbname={conninfo}",
        ]
        if force:
            command += ["--clean", "--if-exists"]
        _run([*command, str(source)], env, "pg_restore", subprocess.DEVNULL)


# --- both ----------------------------------------------------------------------------------


def backup(url: str, target: Path) -> Contents:
    """Copy the database into a new file at `target` (mode 0600) and say what it holds."""
    if is_sqlite(url):
        return _backup_sqlite(url, target)
    return _backup_postgres(url, target)


def restore(url: str, source: Path, *, mode: str, force: bool, actor: audit.Actor) -> Contents:
    """Restore a backup into the configured database, migrate it to the current schema, and
    record the restore in its audit log; returns what the restored database holds."""
    if is_sqlite(url):
        contents = _read_sqlite_backup(source)
        backup_mode = contents.mode
    else:
        archive = _read_archive(_client("pg_restore"), source)
        backup_mode = archive.mode
    if backup_mode != mode:
        raise BackupError(
            f"{source} is a backup of a {backup_mode} database and cannot be restored in {mode} "
            "mode."
        )
    if is_sqlite(url):
        _restore_sqlite(url, source, force)
    else:
        _restore_postgres(url, source, archive, force)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            restored = _contents(session.connection())
            audit.append(
                session,
                actor,
                RESTORE_ACTION,
                object_type="database",
                details={"audit_head": restored.audit_head, "data_keys": restored.data_keys},
            )
    finally:
        engine.dispose()
    return restored
