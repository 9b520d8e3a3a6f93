"""The `riskassess` command. Every failure an operator can cause ends in one clear line and a
non-zero exit code, never a traceback."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from riskassess.config import ConfigError, Settings, check_settings, load_settings
from riskassess.core import migrate
from riskassess.core.audit import Actor, verify_chain
from riskassess.core.crypto import Keyring, KeyringError
from riskassess.core.db import make_engine, make_session_factory, transaction
from riskassess.core.installation import ModeMismatch, claim_mode
from riskassess.errors import DomainError
from riskassess.instruments.loader import InstrumentError, load_directories, parse_instrument

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
    except (ConfigError, KeyringError, ModeMismatch, DomainError) as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError as exc:
        raise click.ClickException(f"The database cannot be used: {exc.orig}") from None


def _settings(mode: str | None = None) -> Settings:
    return load_settings(mode=mode)


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def _upgrade(settings: Settings) -> None:
    _ensure_sqlite_folder(settings.database_url)
    migrate.upgrade(settings.database_url)
    _with_session(settings, lambda session: claim_mode(session, settings.mode))


def _with_session(settings: Settings, work: Callable[[Session], T]) -> T:
    """Run one unit of work in its own transaction on a short-lived engine."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return work(session)
    finally:
        engine.dispose()


@click.group()
def main() -> None:
    """riskassess: structured professional judgement for social services."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """Serve demo mode: fictional data, its own database and keys, created on first start."""
    from riskassess.app import create_app
    from riskassess.training.seed import DEMO_PASSWORD, DEMO_USERS

    with operator_errors():
        app = create_app(prepare_demo(_settings("demo")))
    click.echo(f"Demo mode at http://{host}:{port}/  (all data is fictional)")
    click.echo(f"Demo accounts (password {DEMO_PASSWORD}): " + ", ".join(u[0] for u in DEMO_USERS))
    app.run(host=host, port=port, debug=False, use_reloader=False)


def prepare_demo(settings: Settings) -> Settings:
    """The demo's keyring, secret key, schema and fictional data, each made on first start and
    kept after it; returns the settings to serve the demo with."""
    from riskassess.accounts.passwords import Passwords
    from riskassess.config import demo_secret_key
    from riskassess.core.keys import Vault
    from riskassess.training.seed import is_seeded, seed_demo

    if not settings.secret_key:
        settings = settings.with_overrides(secret_key=demo_secret_key(settings.instance_path))
    if not settings.keyring_path.exists():
        Keyring.generate().save_new(settings.keyring_path)
        click.echo(f"Created a demo keyring at {settings.keyring_path}")
    _upgrade(settings)
    registry = load_directories(settings.instruments_dirs)
    ring = Keyring.load(settings.keyring_path)

    def seed(session: Session) -> bool:
        if is_seeded(session):
            return False
        passwords = Passwords(settings.password_time_cost, settings.password_memory_kib)
        seed_demo(session, Vault(ring), passwords, registry)
        return True

    if _with_session(settings, seed):
        click.echo("Seeded fictional demo data.")
    return settings


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--mode", type=click.Choice(["production", "demo"]), default=None)
def db_upgrade(mode: str | None) -> None:
    """Create or migrate the database to the newest schema."""
    with operator_errors():
        _upgrade(_settings(mode))
    click.echo("Database is up to date.")


@db.command("check")
def db_check() -> None:
    """Fail if the models have changes that no migration covers."""
    from alembic.util.exc import AutogenerateDiffsDetected, CommandError

    with operator_errors():
        settings = _settings()
        try:
            migrate.check(settings.database_url)
        except (AutogenerateDiffsDetected, CommandError) as exc:
            raise click.ClickException(f"Models and migrations differ: {exc}") from None
    click.echo("Models and migrations agree.")


@main.group()
def keys() -> None:
    """Key-encryption keys."""


@keys.command("init")
def keys_init() -> None:
    """Write a new keyring file (mode 0600). Never overwrites an existing one."""
    with operator_errors():
        settings = _settings()
        Keyring.generate().save_new(settings.keyring_path)
    click.echo(
        f"Created keyring {settings.keyring_path}. Keep it outside the database and its backups."
    )


def _audit_key_event(settings: Settings, action: str, kek_id: str, **details: object) -> None:
    from riskassess.core import audit as audit_log

    _with_session(
        settings,
        lambda session: audit_log.append(
            session, CLI_ACTOR, action, object_type="kek", object_id=kek_id, details=details
        ),
    )


@keys.command("rotate")
@click.option(
    "--stage",
    is_flag=True,
    help="Only add a new key, not active yet (several hosts: copy the keyring to each first).",
)
@click.option(
    "--activate",
    "activate_id",
    default=None,
    metavar="KEK_ID",
    help="Make a staged key active and re-wrap every data key under it.",
)
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 100_000))
def keys_rotate(stage: bool, activate_id: str | None, batch_size: int) -> None:
    """Add a new active key-encryption key and re-wrap every data key under it, one committed
    batch at a time; the old keys stay in the keyring. Run again after an interruption, it
    continues with the data keys not yet under the active key. Running servers re-read the
    keyring file when it changes, so they need no restart."""
    from riskassess.core.keys import check_keyring, data_keys_per_kek, rewrap_data_keys

    with operator_errors():
        if stage and activate_id:
            raise click.ClickException("Give --stage or --activate, not both.")
        settings = _settings()
        path = settings.keyring_path
        ring = Keyring.load(path)
        engine = make_engine(settings.database_url)
        factory = make_session_factory(engine)
        try:
            with transaction(factory) as session:
                check_keyring(session, ring, path)
                counts = data_keys_per_kek(session)
            unfinished = sum(n for kek, n in counts.items() if kek != ring.active_kek_id)
            if stage:
                ring, kek_id = ring.with_new_kek(activate=False)
                ring.replace_file(path)
                _audit_key_event(settings, "crypto:kek:stage", kek_id)
                click.echo(
                    f"Added key {kek_id} to {path}, not active yet. Copy the keyring to every "
                    f"host, then run `riskassess keys rotate --activate {kek_id}`."
                )
                return
            if activate_id is not None and activate_id != ring.active_kek_id:
                ring = ring.with_active(activate_id)
                ring.replace_file(path)
                _audit_key_event(settings, "crypto:kek:activate", activate_id)
                click.echo(f"Key {activate_id} is now the active key.")
            elif activate_id is None and unfinished:
                click.echo(
                    f"Continuing the unfinished rotation to {ring.active_kek_id}: "
                    f"{unfinished} data key(s) left."
                )
            elif activate_id is None:
                ring, kek_id = ring.with_new_kek(activate=True)
                ring.replace_file(path)
                _audit_key_event(settings, "crypto:kek:create", kek_id, active=True)
                click.echo(f"New active key {kek_id} written to {path}.")
            result = rewrap_data_keys(
                factory,
                ring,
                CLI_ACTOR,
                batch_size=batch_size,
                progress=lambda r: (
                    click.echo(f"  {r.rewrapped} data key(s) re-wrapped", err=True)
                    if r.batches % 10 == 0
                    else None
                ),
            )
            with transaction(factory) as session:
                counts = data_keys_per_kek(session)
            behind = sum(n for kek, n in counts.items() if kek != ring.active_kek_id)
        finally:
            engine.dispose()
    click.echo(
        f"Re-wrapped {result.rewrapped} data key(s) under {ring.active_kek_id}. "
        "Back up the new keyring file now (separately from the database)."
    )
    if behind > len(result.failed):
        click.echo(
            f"{behind - len(result.failed)} data key(s) were made under an older key while this "
            "ran (a server that has not seen the new keyring yet); run `riskassess keys rotate` "
            "again to finish."
        )
    if result.failed:
        click.echo(
            f"{len(result.failed)} data key(s) did not unwrap and were left as they were "
            f"(audited), first {result.failed[0]}. See `riskassess keys status`.",
            err=True,
        )
        sys.exit(1)


@keys.command("status")
def keys_status() -> None:
    """Show the keyring's keys, which is active, and how many data keys each wraps."""
    from riskassess.core.keys import data_keys_per_kek, destroyed_data_keys

    with operator_errors():
        settings = _settings()
        ring = Keyring.load(settings.keyring_path)
        counts, destroyed = _with_session(
            settings, lambda s: (data_keys_per_kek(s), destroyed_data_keys(s))
        )
    click.echo(f"Keyring {settings.keyring_path}: {len(ring.keks)} key-encryption key(s).")
    for kek_id in sorted(set(ring.keks) | set(counts)):
        mark = (
            "active"
            if kek_id == ring.active_kek_id
            else ("NOT IN KEYRING" if kek_id not in ring.keks else "")
        )
        click.echo(f"  {kek_id:<16} {mark:<15} {counts.get(kek_id, 0):>9} data key(s)")
    if destroyed:
        click.echo(f"Destroyed at gallring, rows not yet deleted: {destroyed} data key(s).")
    missing = [k for k in counts if k not in ring.keks]
    behind = sum(n for k, n in counts.items() if k != ring.active_kek_id)
    if missing:
        click.echo(
            f"Data keys are wrapped by key(s) the keyring lacks: {', '.join(sorted(missing))}. "
            "This is the wrong keyring, or one older than the last rotation.",
            err=True,
        )
        sys.exit(1)
    if behind:
        click.echo(
            f"Rotation unfinished: {behind} data key(s) are not under the active key; "
            "run `riskassess keys rotate` to continue."
        )


@keys.command("retire")
@click.argument("kek_id")
def keys_retire(kek_id: str) -> None:
    """Remove a key-encryption key that no data key needs any more (after a rotation).
    Backups taken before the rotation need it: keep a copy offline until they expire."""
    from riskassess.core.keys import data_keys_per_kek

    with operator_errors():
        settings = _settings()
        ring = Keyring.load(settings.keyring_path)
        if kek_id not in ring.keks:
            raise click.ClickException(f"The keyring holds no key {kek_id!r}.")
        if kek_id == ring.active_kek_id:
            raise click.ClickException(f"Key {kek_id} is the active key; rotate first.")
        still = _with_session(settings, data_keys_per_kek).get(kek_id, 0)
        if still:
            raise click.ClickException(
                f"Key {kek_id} still wraps {still} data key(s); run `riskassess keys rotate` "
                "to finish the rotation first."
            )
        ring.without_kek(kek_id).replace_file(settings.keyring_path)
        _audit_key_event(settings, "crypto:kek:retire", kek_id)
    click.echo(f"Key {kek_id} removed from {settings.keyring_path}.")


@main.group()
def audit() -> None:
    """The audit log: verify it, sign checkpoints of it, list and prune its yearly segments."""


CHECKPOINTS_ENV = "RISKASSESS_AUDIT_CHECKPOINTS"
_CHECKPOINTS_HELP = (
    "Checkpoint file, kept outside the database and its backups "
    f"(default: ${CHECKPOINTS_ENV}, else audit-checkpoints.jsonl in the instance folder)."
)


def _checkpoints_option(flag: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The checkpoint file option, the same for every audit command that reads or writes it."""
    return click.option(
        flag,
        "checkpoints_file",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=CHECKPOINTS_ENV,
        default=None,
        help=_CHECKPOINTS_HELP,
    )


@contextmanager
def _audit_errors() -> Iterator[None]:
    from riskassess.core.audit import AuditError, CheckpointFileError

    with operator_errors():
        try:
            yield
        except (AuditError, CheckpointFileError) as exc:
            raise click.ClickException(str(exc)) from None


def _checkpoint_file(settings: Settings, given: Path | None) -> Path:
    return given if given is not None else settings.instance_path / "audit-checkpoints.jsonl"


def _append_line(path: Path, line: str, what: str) -> None:
    """Append one line to the checkpoint file and force it to disk (after the commit)."""
    import os

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise click.ClickException(
            f"{what} was committed but could not be written to {path}: {exc}. "
            "Fix the file's location and run the command again."
        ) from None


def _read_only(settings: Settings, work: Callable[[Session], T]) -> T:
    """Read-only work on one consistent snapshot that does not hold up the app's writers
    (SQLite: a deferred transaction instead of BEGIN IMMEDIATE)."""
    import sqlite3

    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import Connection

    url = settings.database_url
    if url.startswith("sqlite"):
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


@audit.command("verify")
@_checkpoints_option("--checkpoints")
def audit_verify(checkpoints_file: Path | None) -> None:
    """Check every entry's hash, link and columns, every signed checkpoint and every pruned
    segment's signed record; exit 1 naming the first bad entry."""
    from riskassess.core.audit import read_checkpoints

    with _audit_errors():
        settings = _settings()
        path = _checkpoint_file(settings, checkpoints_file)
        use_file = checkpoints_file is not None or path.exists()
        try:
            public_key = Keyring.load(settings.keyring_path).audit_signer().public_key()
        except KeyringError:
            if use_file:
                raise
            public_key = None  # enough for a log without checkpoints or pruned segments
        checkpoints = read_checkpoints(path, public_key) if use_file and public_key else []
        result = _read_only(
            settings,
            lambda s: verify_chain(s, checkpoints=checkpoints, public_key=public_key),
        )
    if not result.ok:
        where = "" if result.first_bad_seq is None else f" at entry {result.first_bad_seq}"
        click.echo(f"Audit log BROKEN{where}: {result.problem}", err=True)
        click.echo(f"{result.checked} entries before it are intact.", err=True)
        sys.exit(1)
    click.echo(f"Audit log intact: {result.checked} entries verified.")
    if result.pruned:
        click.echo(f"Entries 1..{result.first_seq - 1} were pruned; their signed records verify.")
    if use_file:
        click.echo(f"{result.checkpoints} checkpoint(s) in {path} match the log.")
    else:
        click.echo(
            f"No checkpoint file at {path}: a truncated or rolled-back log cannot be detected "
            "without one (see `riskassess audit checkpoint`).",
            err=True,
        )


@audit.command("checkpoint")
@_checkpoints_option("--file")
def audit_checkpoint(checkpoints_file: Path | None) -> None:
    """Sign the head of the log (Ed25519, key in the keyring) and append it to the checkpoint
    file. Run it regularly (a timer) and keep the file on other storage than the database."""
    from riskassess.core import audit as audit_log

    with _audit_errors():
        settings = _settings()
        key = Keyring.load(settings.keyring_path).audit_signer()
        path = _checkpoint_file(settings, checkpoints_file)

        def sign_head(session: Session) -> audit_log.Checkpoint:
            # The checkpoint's own entry is the head it signs.
            audit_log.append(session, CLI_ACTOR, "audit:log:checkpoint", object_type="audit_log")
            return audit_log.head_checkpoint(session)

        checkpoint = _with_session(settings, sign_head)
        _append_line(path, audit_log.checkpoint_line(key, checkpoint), "The checkpoint")
    click.echo(f"Signed entry {checkpoint.seq} ({checkpoint.hash}); appended to {path}.")


@audit.command("segments")
def audit_segments() -> None:
    """List the log's years with their entry ranges and boundary hashes, and pruned years."""
    from riskassess.core import audit as audit_log

    with _audit_errors():
        settings = _settings()
        pruned, years = _read_only(
            settings, lambda s: (audit_log.pruned_segments(s), audit_log.segments(s))
        )
    for record in pruned:
        click.echo(
            f"pruned before {record.before_year}: entries {record.first_seq}..{record.last_seq} "
            f"({record.entry_count}), first prev_hash {record.first_prev_hash}, "
            f"last hash {record.last_hash}, signed by key {record.key_id}, "
            f"{record.pruned_dt:%Y-%m-%d}"
        )
    for segment in years:
        click.echo(
            f"{segment.year}: entries {segment.first_seq}..{segment.last_seq} ({segment.count}), "
            f"first prev_hash {segment.first_prev_hash}, last hash {segment.last_hash}"
        )
    if not pruned and not years:
        click.echo("The audit log is empty.")


@audit.command("prune")
@click.option("--before-year", type=int, required=True, help="Remove entries dated before 1 Jan.")
@click.option("--yes", is_flag=True, help="Confirm: the entries are deleted for good.")
@_checkpoints_option("--checkpoints")
def audit_prune(before_year: int, yes: bool, checkpoints_file: Path | None) -> None:
    """Delete the log's entries before a year, leaving a signed record of exactly what was
    removed (kept in the database and appended to the checkpoint file). The last five full
    years are always kept, and the whole log must verify first."""
    from datetime import date

    from riskassess.core import audit as audit_log

    with _audit_errors():
        if not yes:
            raise click.ClickException(
                "Pruning deletes audit entries for good. Add --yes to go ahead."
            )
        settings = _settings()
        key = Keyring.load(settings.keyring_path).audit_signer()
        path = _checkpoint_file(settings, checkpoints_file)
        checkpoints = (
            audit_log.read_checkpoints(path, key.public_key())
            if checkpoints_file is not None or path.exists()
            else []
        )
        record = _with_session(
            settings,
            lambda s: audit_log.prune_before_year(
                s, key, CLI_ACTOR, before_year, today=date.today(), checkpoints=checkpoints
            ),
        )
        _append_line(path, audit_log.prune_line(record), "The prune record")
    click.echo(
        f"Removed entries {record.first_seq}..{record.last_seq} ({record.entry_count}, dated "
        f"before {before_year}). The signed record is kept in the database and in {path}."
    )


@audit.command("add-signing-key")
def audit_add_signing_key() -> None:
    """Give a keyring made before signed checkpoints its audit signing key (in place)."""
    from riskassess.core import audit as audit_log

    with _audit_errors():
        settings = _settings()
        ring = Keyring.load(settings.keyring_path).with_audit_signing_key()
        signer = audit_log.key_id(ring.audit_signer().public_key())

        def record(session: Session) -> None:
            audit_log.append(
                session,
                CLI_ACTOR,
                "audit:signing_key:create",
                object_type="signing_key",
                object_id=signer,
            )
            ring.replace_file(settings.keyring_path)  # before the commit: no key without entry

        _with_session(settings, record)
    click.echo(
        f"Added audit signing key {signer} to {settings.keyring_path}. Back up the keyring now."
    )


@main.group()
def instruments() -> None:
    """Instrument definition files."""


@instruments.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
def instruments_validate(files: tuple[Path, ...]) -> None:
    """Check instrument files (default: every configured folder)."""
    problems: list[str] = []
    checked = 0
    if files:
        for path in files:
            try:
                parse_instrument(path)
                checked += 1
            except InstrumentError as exc:
                problems.extend(exc.problems)
    else:
        try:
            checked = len(load_directories(_settings().instruments_dirs).all())
        except InstrumentError as exc:
            problems.extend(exc.problems)
    for line in problems:
        click.echo(line, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"{checked} instrument file(s) valid.")


@instruments.command("schema")
def instruments_schema() -> None:
    """Print the JSON Schema of instrument files (for editors; files are TOML)."""
    import json

    from riskassess.instruments.schema import INSTRUMENT_SCHEMA

    click.echo(json.dumps(INSTRUMENT_SCHEMA, indent=2, ensure_ascii=False))


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create-unit")
@click.argument("code")
@click.argument("name")
def users_create_unit(code: str, name: str) -> None:
    """Create a unit (enhet)."""
    from riskassess.accounts.services import create_unit

    with operator_errors():
        _with_session(_settings(), lambda s: create_unit(s, CLI_ACTOR, code, name))
    click.echo(f"Unit {code} created.")


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="Display name")
@click.option(
    "--role",
    type=click.Choice(["caseworker", "supervisor", "trainer", "admin", "auditor"]),
    required=True,
)
@click.option("--unit", "unit_code", default=None, help="Unit code (caseworkers and supervisors)")
def users_create(username: str, display_name: str, role: str, unit_code: str | None) -> None:
    """Create a user; the password is read from the terminal (or one line of standard input)."""
    from riskassess.accounts.models import Unit
    from riskassess.accounts.passwords import Passwords
    from riskassess.accounts.services import create_user

    password = (
        getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )

    def work(session: Session) -> None:
        unit = None
        if unit_code:
            unit = session.scalar(select(Unit).where(Unit.code == unit_code.lower()))
            if unit is None:
                raise DomainError(f"No unit with code {unit_code!r}.")
        create_user(
            session,
            Passwords(settings.password_time_cost, settings.password_memory_kib),
            CLI_ACTOR,
            username=username,
            display_name=display_name,
            password=password,
            role=role,
            unit=unit,
        )

    with operator_errors():
        settings = _settings()
        _with_session(settings, work)
    click.echo(f"User {username} created.")


@main.group()
def retention() -> None:
    """Gallring: statutory deletion of case files after the retention period."""


def _retention_engine(url: str) -> Engine:
    """On SQLite, deleted and overwritten content is zeroed (secure_delete), so a destroyed
    data key does not linger in the file's free pages."""
    engine = make_engine(url)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _secure_delete(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA secure_delete=ON")

    return engine


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Only list the cases that would be deleted.")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Plan as of this day instead of today (only with --dry-run).",
)
@click.option("--yes", is_flag=True, help="Delete without asking for confirmation.")
def retention_run(dry_run: bool, as_of: datetime | None, yes: bool) -> None:
    """Delete the cases past their retention date that are not on hold: each case's data key
    is destroyed first (its data is unreadable from then on), then its rows are deleted. Lists
    case numbers only; every deleted case gets an audit entry."""
    from riskassess.cases import retention as gallring
    from riskassess.core import audit as audit_log

    with operator_errors():
        if as_of is not None and not dry_run:
            raise click.ClickException("--as-of can only be used with --dry-run.")
        settings = _settings()
        today = as_of.date() if as_of is not None else gallring.today_local()
        engine = _retention_engine(settings.database_url)
        factory = make_session_factory(engine)
        try:
            with transaction(factory) as session:
                plan = gallring.plan_retention(session, settings.retention_years, today)
            click.echo(
                f"Gallring as of {today}: {settings.retention_years} years after the last entry "
                "(RISKASSESS_RETENTION_YEARS)."
            )
            for item in plan.due:
                state = (
                    "data key destroyed, rows left"
                    if item.key_destroyed
                    else ("OVERDUE" if item.is_overdue(today) else "")
                )
                click.echo(
                    f"  {item.reference}  last entry {item.dates.last_entry}  due "
                    f"{item.dates.due}  by {item.dates.deadline}  {state}".rstrip()
                )
            for item in plan.held:
                click.echo(f"  {item.reference}  on hold ({item.hold_reason}), kept")
            if dry_run:
                click.echo(
                    f"{len(plan.due)} case(s) would be deleted, {len(plan.held)} on hold. "
                    "Nothing was changed (dry run)."
                )
                return
            if not plan.due:
                click.echo("No case is due for deletion.")
            elif not yes:
                click.confirm(
                    f"Delete {len(plan.due)} case(s) for good? This cannot be undone.",
                    abort=True,
                )
            result = gallring.run_retention(
                factory,
                CLI_ACTOR,
                plan,
                on_case=lambda item, outcome: click.echo(f"  {item.reference}  {outcome}"),
            )
            with transaction(factory) as session:
                audit_log.append(
                    session,
                    CLI_ACTOR,
                    "case:retention:run",
                    details={
                        "as_of": today.isoformat(),
                        "years": settings.retention_years,
                        "deleted": len(result.deleted),
                        "skipped": len(result.skipped),
                        "failed": len(result.failed),
                    },
                )
            if settings.database_url.startswith("sqlite"):
                # Fold the write-ahead log into the file and empty it, outside any transaction,
                # so the destroyed keys' old pages do not linger there (best effort: a reader
                # that is still open keeps some frames until its own checkpoint).
                raw = engine.raw_connection()
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
                finally:
                    raw.close()
        finally:
            engine.dispose()
    click.echo(
        f"{len(result.deleted)} case(s) deleted, {len(result.skipped)} skipped "
        f"(changed since the plan), {len(result.failed)} failed."
    )
    for reference, why in result.skipped:
        click.echo(f"  {reference} skipped: {why}")
    if result.failed:
        for reference, why in result.failed:
            click.echo(f"  {reference} failed: {why}", err=True)
        sys.exit(1)


@main.command()
def check() -> None:
    """Check settings, keyring, instruments and database as the server would at start-up."""
    from riskassess.app import create_app

    with operator_errors():
        settings = _settings()
        check_settings(settings)
        create_app(settings)
    click.echo("Configuration is valid.")


if __name__ == "__main__":
    main()
