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
from riskassess.core.db import make_engine, make_session_factory, transaction
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
    from riskassess.accounts.passwords import Passwords, new_password_problem
    from riskassess.accounts.services import create_user

    password = (
        getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )

    problem = new_password_problem(password, username, display_name)
    if problem is not None:
        raise click.ClickException(problem + " Nothing was created.")

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


@users.command("end-sessions")
@click.argument("username")
def users_end_sessions(username: str) -> None:
    """End every login session of a user on every device (a lost laptop, a leaving employee)."""
    from riskassess.accounts.models import User
    from riskassess.accounts.services import end_sessions
    from riskassess.accounts.sessions import make_session_store

    with operator_errors():
        settings = settings_for()
        engine = make_engine(settings.database_url)
        try:
            factory = make_session_factory(engine)
            store = make_session_store(settings, factory)
            with transaction(factory) as session:
                found = session.scalar(select(User).where(User.username == username.lower()))
                if found is None:
                    raise DomainError(f"No user {username!r}.")
                ended = end_sessions(session, store, CLI_ACTOR, found)
        finally:
            engine.dispose()
    click.echo(f"Ended {ended} session(s) of {username}.")


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Forget a user's failed logins, so that a throttled account can log in at once."""
    from flask import Flask

    from riskassess.accounts.models import User
    from riskassess.accounts.throttle import init_throttle, unlock_account
    from riskassess.core import audit

    with operator_errors():
        settings = settings_for()
        if settings.redis_url is None:
            raise click.ClickException(
                "Without RISKASSESS_REDIS_URL each server counts failed logins in its own "
                "memory: they clear 15 minutes after the last attempt, or when the server "
                "restarts. Nothing was changed."
            )
        counts = Flask(__name__)  # only the limiter's storage: no database, no keys
        init_throttle(counts, settings)
        with counts.app_context():
            unlock_account(username)

        def record(session: Session) -> None:
            found = session.scalar(select(User).where(User.username == username.lower()))
            if found is None:
                raise DomainError(f"No user {username!r}.")
            audit.append(
                session, CLI_ACTOR, "account:user:unlock", object_type="user", object_id=found.id
            )

        with_session(settings, record)
    click.echo(f"Failed logins of {username} are forgotten; the account can log in again.")
