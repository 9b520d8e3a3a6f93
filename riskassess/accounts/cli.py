"""The `riskassess users` commands: units and staff accounts."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.administration import (
    issue_password_reset,
    rename_unit,
    retire_unit,
    set_enabled,
    set_expiry,
    set_role,
)
from riskassess.accounts.models import RaterTraining, Unit, User
from riskassess.accounts.raters import record_training, remove_training, trainings_of
from riskassess.cli_support import (
    CLI_ACTOR,
    operator_errors,
    read_only,
    settings_for,
    with_session,
)
from riskassess.core.db import make_engine, make_session_factory, transaction
from riskassess.core.permissions import Role
from riskassess.errors import DomainError

if TYPE_CHECKING:
    from riskassess.accounts.sessions import SessionStore

T = TypeVar("T")


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


def _with_session_store(work: Callable[[Session, SessionStore], T]) -> T:
    """One transaction with the configured login-session store (database or Redis)."""
    from riskassess.accounts.sessions import make_session_store

    with operator_errors():
        settings = settings_for()
        engine = make_engine(settings.database_url)
        try:
            factory = make_session_factory(engine)
            store = make_session_store(settings, factory)
            with transaction(factory) as session:
                return work(session, store)
        finally:
            engine.dispose()


@users.command("end-sessions")
@click.argument("username")
def users_end_sessions(username: str) -> None:
    """End every login session of a user on every device (a lost laptop, a leaving employee)."""
    from riskassess.accounts.services import end_sessions

    ended = _with_session_store(
        lambda session, store: end_sessions(
            session, store, CLI_ACTOR, _find_user(session, username)
        )
    )
    click.echo(f"Ended {ended} session(s) of {username}.")


@users.command("reset-mfa")
@click.argument("username")
def users_reset_mfa(username: str) -> None:
    """Reset a user's two-step login (a lost phone): the app's key and the recovery codes are
    removed and the user's sessions end; the user sets up the app at the next login."""
    from riskassess.accounts import mfa
    from riskassess.accounts.services import end_sessions

    def work(session: Session, store: SessionStore) -> int:
        found = _find_user(session, username)
        mfa.reset(session, CLI_ACTOR, found)
        return end_sessions(session, store, CLI_ACTOR, found)

    ended = _with_session_store(work)
    click.echo(
        f"Two-step login of {username} is reset and {ended} session(s) ended; "
        "the user sets it up again at the next login."
    )


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Forget a user's failed logins, so that a throttled account can log in at once."""
    from flask import Flask

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
        user_id = read_only(settings, lambda session: _find_user(session, username).id)
        counts = Flask(__name__)  # only the limiter's storage: no database, no keys
        init_throttle(counts, settings)
        with counts.app_context():
            unlock_account(username, user_id)

        def record(session: Session) -> None:
            found = _find_user(session, username)
            audit.append(
                session, CLI_ACTOR, "account:user:unlock", object_type="user", object_id=found.id
            )

        with_session(settings, record)
    click.echo(f"Failed logins of {username} are forgotten; the account can log in again.")


def _find_user(session: Session, username: str) -> User:
    found = session.scalar(select(User).where(User.username == username.strip().lower()))
    if found is None:
        raise DomainError(f"No user {username!r}.")
    return found


def _find_unit(session: Session, code: str) -> Unit:
    found = session.scalar(select(Unit).where(Unit.code == code.strip().lower()))
    if found is None:
        raise DomainError(f"No unit with code {code!r}.")
    return found


def _admin(work: Callable[[Session], object], done: str) -> None:
    """One audited change in its own transaction, then one line saying what was done."""
    with operator_errors():
        with_session(settings_for(), work)
    click.echo(done)


@users.command("list")
def users_list() -> None:
    """Every account: username, role, unit, state, two-step login, expiry, last login."""

    def rows(session: Session) -> list[str]:
        lines = []
        for user in session.scalars(select(User).order_by(User.username)):
            state = "enabled" if user.is_enabled else "DISABLED"
            if user.is_expired(date.today()):
                state = "EXPIRED"
            last = (
                f"last login {user.last_login_dt:%Y-%m-%d %H:%M}"
                if user.last_login_dt
                else "never logged in"
            )
            unit = user.unit.code if user.unit else "-"
            lines.append(
                f"{user.username:<24} {user.role:<11} {unit:<12} {state:<9} "
                f"mfa {'on ' if user.has_mfa else 'off'}  expires {user.expires_on or '-'}  {last}"
            )
        return lines

    with operator_errors():
        for line in with_session(settings_for(), rows):
            click.echo(line)


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Stop an account from logging in; its sessions stop working at their next request."""
    _admin(
        lambda s: set_enabled(s, CLI_ACTOR, _find_user(s, username), False),
        f"User {username} is disabled.",
    )


@users.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Let a disabled account log in again."""
    _admin(
        lambda s: set_enabled(s, CLI_ACTOR, _find_user(s, username), True),
        f"User {username} is enabled.",
    )


@users.command("set-role")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--unit", "unit_code", default=None, help="Unit code (caseworkers and supervisors)")
def users_set_role(username: str, role: str, unit_code: str | None) -> None:
    """Change a user's role and unit; the old unit's cases close to them at the next request."""
    _admin(
        lambda s: set_role(
            s,
            CLI_ACTOR,
            _find_user(s, username),
            role,
            _find_unit(s, unit_code) if unit_code else None,
        ),
        f"User {username} is now {role}{f' in {unit_code}' if unit_code else ''}.",
    )


@users.command("set-expiry")
@click.argument("username")
@click.option("--last-day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--never", is_flag=True, help="Remove the end date.")
def users_set_expiry(username: str, last_day: datetime | None, never: bool) -> None:
    """Set the last day an account may be used (YYYY-MM-DD), or --never."""
    if (last_day is None) == (not never):
        raise click.ClickException("Give --last-day YYYY-MM-DD or --never.")
    day = None if never or last_day is None else last_day.date()
    _admin(
        lambda s: set_expiry(s, CLI_ACTOR, _find_user(s, username), day),
        f"User {username} can log in {'without an end date' if day is None else f'until {day}'}.",
    )


@users.command("rename-unit")
@click.argument("code")
@click.argument("name")
def users_rename_unit(code: str, name: str) -> None:
    """Give a unit a new name (its code stays)."""
    _admin(lambda s: rename_unit(s, CLI_ACTOR, _find_unit(s, code), name), f"Unit {code} renamed.")


@users.command("retire-unit")
@click.argument("code")
def users_retire_unit(code: str) -> None:
    """Retire a unit without members or open cases; its history stays."""
    _admin(lambda s: retire_unit(s, CLI_ACTOR, _find_unit(s, code)), f"Unit {code} is retired.")


@users.command("reset-password")
@click.argument("username")
def users_reset_password(username: str) -> None:
    """Issue a one-time code, valid 24 hours, with which the user chooses a new password at
    /password/reset. The code is shown here once; only its hash is kept."""
    issued: list[tuple[str, datetime]] = []
    _admin(
        lambda s: issued.append(issue_password_reset(s, CLI_ACTOR, _find_user(s, username))),
        f"Give {username} this code in person or by phone (not by e-mail):",
    )
    code, expires = issued[0]
    click.echo(f"  {code}")
    click.echo(f"It works once, until {expires:%Y-%m-%d %H:%M} UTC, at /password/reset.")


def _known_instruments() -> list[str]:
    from riskassess.instruments.loader import load_directories

    return sorted({i.id for i in load_directories(settings_for().instruments_dirs).all()})


def _find_training(session: Session, user: User, instrument: str, day: date) -> RaterTraining:
    found = session.scalar(
        select(RaterTraining).where(
            RaterTraining.user_id == user.id,
            RaterTraining.instrument_id == instrument,
            RaterTraining.trained_on == day,
        )
    )
    if found is None:
        raise DomainError(f"{user.username} has no training in {instrument} on {day}.")
    return found


@users.command("training-add")
@click.argument("username")
@click.option("--instrument", required=True, help="Instrument id, e.g. savry-style")
@click.option(
    "--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="YYYY-MM-DD"
)
@click.option("--course", required=True, help="The course's name (at most 200 characters)")
def users_training_add(username: str, instrument: str, day: datetime, course: str) -> None:
    """Register that a user is trained in an instrument (all its versions)."""
    with operator_errors():
        known = _known_instruments()
    if instrument not in known:
        raise click.ClickException(
            f"No instrument {instrument!r} is installed; choose one of: {', '.join(known)}. "
            "Nothing was changed."
        )
    _admin(
        lambda s: record_training(
            s, CLI_ACTOR, _find_user(s, username), instrument, day.date(), course, known
        ),
        f"{username} is registered as trained in {instrument} ({day:%Y-%m-%d}).",
    )


@users.command("training-list")
@click.argument("username", required=False)
@click.option("--unit", "unit_code", default=None, help="Only the staff of this unit")
def users_training_list(username: str | None, unit_code: str | None) -> None:
    """The register of trained raters: every user's trainings, or one user's or unit's."""

    def rows(session: Session) -> list[str]:
        query = select(User).order_by(User.username)
        if username:
            query = query.where(User.id == _find_user(session, username).id)
        if unit_code:
            query = query.where(User.unit_id == _find_unit(session, unit_code).id)
        people = list(session.scalars(query))
        found = trainings_of(session, [u.id for u in people])
        lines = []
        for person in people:
            for row in found[person.id]:
                t = row.training
                by = row.recorded_by or "command line"
                lines.append(
                    f"{person.username:<24} {t.instrument_id:<16} {t.trained_on}  "
                    f"{t.course}  (recorded by {by}, {t.recorded_dt:%Y-%m-%d})"
                )
        return lines

    with operator_errors():
        lines = read_only(settings_for(), rows)
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("No training registered.")


@users.command("training-remove")
@click.argument("username")
@click.option("--instrument", required=True, help="Instrument id, e.g. savry-style")
@click.option(
    "--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="YYYY-MM-DD"
)
def users_training_remove(username: str, instrument: str, day: datetime) -> None:
    """Remove a training entered by mistake (the user, instrument and date name it)."""
    _admin(
        lambda s: remove_training(
            s, CLI_ACTOR, _find_training(s, _find_user(s, username), instrument, day.date())
        ),
        f"The training of {username} in {instrument} on {day:%Y-%m-%d} is removed.",
    )
