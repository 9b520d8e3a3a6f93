"""Use cases for accounts: log in, log out, create units and users."""

from __future__ import annotations

import re
import uuid
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from riskassess.accounts.models import Unit, User
from riskassess.accounts.passwords import Passwords
from riskassess.accounts.sessions import SessionStore, UserRow
from riskassess.core import audit
from riskassess.core.db import utcnow
from riskassess.core.permissions import Role
from riskassess.errors import N_, DomainError

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,79}")
ANONYMOUS = audit.Actor(user_id=None, username="anonymous", role="anonymous", unit_id=None)


def load_user(session: Session, user_id: str, known: UserRow | None = None) -> User | None:
    """The logged-in user, if still active. `known` is the user's row as read with the login
    session (`DatabaseSessionStore.load`): the user is then built from it, without a query."""
    try:
        ident = uuid.UUID(user_id)
    except ValueError:
        return None
    if known is not None and known.user["id"] == ident:
        found: User | None = _adopt(session, known)
    else:
        found = session.get(User, ident)
    return found if found is not None and found.is_active else None


@cache
def _display_name_query() -> Select[str]:
    # Built once (see core.db): pages name a case's caseworker or an assessment's author.
    return select(User.display_name).where(User.id == bindparam("user_id"))


def display_name(session: Session, user_id: uuid.UUID) -> str | None:
    """The user's name as shown on pages, None for no such user."""
    return session.scalar(_display_name_query(), {"user_id": user_id})


def _adopt(session: Session, known: UserRow) -> User:
    """The user (and unit) of a row read elsewhere, made part of `session` as if it had
    loaded them itself: no attribute counts as changed, and nothing is flushed for them."""
    present = session.identity_map.get(identity_key(User, known.user["id"]))
    if isinstance(present, User):
        return present
    user = User(**known.user)
    make_transient_to_detached(user)
    session.add(user)
    unit = None
    if known.unit is not None:
        loaded = session.identity_map.get(identity_key(Unit, known.unit["id"]))
        if isinstance(loaded, Unit):
            unit = loaded
        else:
            unit = Unit(**known.unit)
            make_transient_to_detached(unit)
            session.add(unit)
    set_committed_value(user, "unit", unit)
    return user


def authenticate(
    session: Session, passwords: Passwords, username: str, password: str
) -> User | None:
    """Check a username and password; a failure is audited here, a success by `record_login`
    once the second factor (if any) has passed. Returns the user or None."""
    found = session.scalar(select(User).where(User.username == username.strip().lower()))
    if found is None or not found.is_active:
        passwords.verify(None, password)  # same cost as a real check
        audit.append(session, ANONYMOUS, "account:session:login", outcome=audit.Outcome.FAILURE)
        return None
    if not passwords.verify(found.password_hash, password):
        audit.append(
            session,
            ANONYMOUS,
            "account:session:login",
            object_type="user",
            object_id=found.id,
            outcome=audit.Outcome.FAILURE,
        )
        return None
    return found


def record_login(session: Session, user: User, second_factor: str) -> None:
    """The login is complete: the password and, where enrolled, the second factor passed.
    `second_factor` is "totp", "recovery" or "none"."""
    user.last_login_dt = utcnow()
    audit.append(
        session,
        user.as_actor(),
        "account:session:login",
        object_type="user",
        object_id=user.id,
        details={"mfa": second_factor},
    )


def record_second_factor_failure(session: Session, user: User) -> None:
    audit.append(
        session,
        ANONYMOUS,
        "account:session:login",
        object_type="user",
        object_id=user.id,
        outcome=audit.Outcome.FAILURE,
        details={"step": "mfa"},
    )


def record_logout(session: Session, user: User) -> None:
    audit.append(
        session, user.as_actor(), "account:session:logout", object_type="user", object_id=user.id
    )


def create_unit(session: Session, actor: audit.Actor, code: str, name: str) -> Unit:
    code = code.strip().lower()
    if not code or not name.strip():
        raise DomainError(N_("A unit needs a code and a name."))
    if session.scalar(select(Unit).where(Unit.code == code)) is not None:
        raise DomainError(N_("A unit with that code already exists."))
    unit = Unit(code=code, name=name.strip())
    session.add(unit)
    session.flush()
    audit.append(session, actor, "admin:unit:create", object_type="unit", object_id=unit.id)
    return unit


def create_user(
    session: Session,
    passwords: Passwords,
    actor: audit.Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    role: str,
    unit: Unit | None,
) -> User:
    username = username.strip().lower()
    if role not in {r.value for r in Role}:
        raise DomainError(N_("Choose one of the roles."))
    if role in (Role.CASEWORKER, Role.SUPERVISOR) and unit is None:
        raise DomainError(N_("Caseworkers and supervisors must belong to a unit."))
    if unit is not None and unit.retired_dt is not None:
        raise DomainError(N_("The unit is retired."))
    if not USERNAME.fullmatch(username) or not display_name.strip():
        raise DomainError(
            N_(
                "A user needs a display name and a username of 2-80 lower-case letters, digits, "
                "dots, dashes or underscores."
            )
        )
    if len(password) < 12:
        raise DomainError(N_("A password needs at least 12 characters."))
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise DomainError(N_("A user with that username already exists."))
    user = User(
        username=username,
        display_name=display_name.strip(),
        password_hash=passwords.hash(password),
        role=role,
        unit_id=None if unit is None else unit.id,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor,
        "admin:user:create",
        object_type="user",
        object_id=user.id,
        details={"role": role},
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def end_sessions(session: Session, store: SessionStore, actor: audit.Actor, user: User) -> int:
    """End every session of `user` on every device: by the user ("log out everywhere") or by
    an administrator. Returns how many there were."""
    ended = store.delete_for_user(str(user.id), session)
    audit.append(
        session,
        actor,
        "account:session:revoke",
        object_type="user",
        object_id=user.id,
        details={"sessions": ended},
    )
    return ended
