"""The `riskassess audit` commands: verify, checkpoints, segments and pruning of the log."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from riskassess.cli_support import (
    CLI_ACTOR,
    operator_errors,
    read_only,
    settings_for,
    with_session,
)
from riskassess.config import Settings
from riskassess.core.audit import verify_chain
from riskassess.core.crypto import Keyring, KeyringError


@click.group()
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
    return given if given is not None else settings.audit_checkpoints_path


def _append_line(path: Path, line: str, what: str) -> None:
    """Append one line to the checkpoint file and force it to disk (after the commit)."""
    from riskassess.core.audit import CheckpointFileError, append_line

    try:
        append_line(path, line)
    except CheckpointFileError as exc:
        raise click.ClickException(
            f"{what} was committed but {exc}. Fix the file's location and run the command again."
        ) from None


@audit.command("verify")
@_checkpoints_option("--checkpoints")
def audit_verify(checkpoints_file: Path | None) -> None:
    """Check every entry's hash, link and columns, every signed checkpoint and every pruned
    segment's signed record; exit 1 naming the first bad entry."""
    from riskassess.core.audit import read_checkpoints

    with _audit_errors():
        settings = settings_for()
        path = _checkpoint_file(settings, checkpoints_file)
        use_file = checkpoints_file is not None or path.exists()
        try:
            public_key = Keyring.load(settings.keyring_path).audit_signer().public_key()
        except KeyringError:
            if use_file:
                raise
            public_key = None  # enough for a log without checkpoints or pruned segments
        checkpoints = read_checkpoints(path, public_key) if use_file and public_key else []
        result = read_only(
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
        settings = settings_for()
        key = Keyring.load(settings.keyring_path).audit_signer()
        path = _checkpoint_file(settings, checkpoints_file)

        def sign_head(session: Session) -> audit_log.Checkpoint:
            # The checkpoint's own entry is the head it signs.
            audit_log.append(session, CLI_ACTOR, "audit:log:checkpoint", object_type="audit_log")
            return audit_log.head_checkpoint(session)

        checkpoint = with_session(settings, sign_head)
        _append_line(path, audit_log.checkpoint_line(key, checkpoint), "The checkpoint")
    click.echo(f"Signed entry {checkpoint.seq} ({checkpoint.hash}); appended to {path}.")


@audit.command("segments")
def audit_segments() -> None:
    """List the log's years with their entry ranges and boundary hashes, and pruned years."""
    from riskassess.core import audit as audit_log

    with _audit_errors():
        settings = settings_for()
        pruned, years = read_only(
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
        settings = settings_for()
        key = Keyring.load(settings.keyring_path).audit_signer()
        path = _checkpoint_file(settings, checkpoints_file)
        checkpoints = (
            audit_log.read_checkpoints(path, key.public_key())
            if checkpoints_file is not None or path.exists()
            else []
        )
        record = with_session(
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
        settings = settings_for()
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

        with_session(settings, record)
    click.echo(
        f"Added audit signing key {signer} to {settings.keyring_path}. Back up the keyring now."
    )
