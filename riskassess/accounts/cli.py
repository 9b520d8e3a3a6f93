"""The `riskassess users` commands: units and staff accounts."""

from __future__ import annotations

import getpass
import sys

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.cli_support import (
    CLI_ACTOR,
    operator_errors,
    settings_for,
    with_session,
)
from riskassess.errors import DomainError


@click.group()
def users() -> None:
    """Staff accounts."""


@users.command("create-unit")
@click.argument("code")
@click.argument("name")
def users_create_unit(code: str, name: str) -> None:
    """Create a unit (enhet)."""
    from riskassess.accounts.services import create_unit

    with operator_errors():
        with_session(settings_for(), lambda s: create_unit(s, CLI_ACTOR, code, name))
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
        settings = settings_for()
        with_session(settings, work)
    click.echo(f"User {username} created.")
