"""The `riskassess retention` commands: gallring of case files."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from sqlalchemy import event
from sqlalchemy.engine import Engine

from riskassess.cli_support import (
    CLI_ACTOR,
    operator_errors,
    settings_for,
)
from riskassess.core.db import make_engine, make_session_factory, transaction


@click.group()
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
    from riskassess.core.crypto import Keyring
    from riskassess.core.keys import Vault

    with operator_errors():
        if as_of is not None and not dry_run:
            raise click.ClickException("--as-of can only be used with --dry-run.")
        settings = settings_for()
        today = as_of.date() if as_of is not None else gallring.today_local()
        # The key to read each due case's birth day: the law keeps some files (retention.py).
        vault = Vault(Keyring.load(settings.keyring_path))
        engine = _retention_engine(settings.database_url)
        factory = make_session_factory(engine)
        try:
            with transaction(factory) as session:
                plan = gallring.plan_retention(session, vault, settings.retention_years, today)
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
            for item in plan.exempt:
                click.echo(f"  {item.reference}  kept by law (born on day 5, 15 or 25)")
            for item in plan.unreadable:
                click.echo(f"  {item.reference}  identity could not be read, kept", err=True)
            if dry_run:
                click.echo(
                    f"{len(plan.due)} case(s) would be deleted, {len(plan.held)} on hold, "
                    f"{len(plan.exempt)} kept by law. Nothing was changed (dry run)."
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
                vault,
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
                        "exempt": len(plan.exempt),
                        "unreadable": len(plan.unreadable),
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
