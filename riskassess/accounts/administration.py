"""An administrator's changes to accounts and units.

Each change is audited with the values before and after, as codes, ids and dates only: never a
password, a secret or a name someone typed. A changed role, unit, expiry or a disabled account
counts from the user's next request, because the user is loaded on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit, User
from riskassess.accounts.passwords import Passwords, new_password_problem
from riskassess.accounts.services import create_user
from riskassess.cases.models import Case, CaseStatus
from riskassess.core import audit
from riskassess.core.db import utcnow
from riskassess.core.permissions import Role
from riskassess.errors import N_, DomainError

UNIT_ROLES = (Role.CASEWORKER, Role.SUPERVISOR)


def _changed(
    session: Session, actor: audit.Actor, user: User, changes: dict[str, tuple[Any, Any]]
) -> None:
    if changes:
        audit.append(
            session,
            actor,
            "admin:user:update",
            object_type="user",
            object_id=user.id,
            details={field: list(pair) for field, pair in changes.items()},
        )


def set_role(
    session: Session, actor: audit.Actor, user: User, role: str, unit: Unit | None
) -> None:
    """Caseworkers and supervisors belong to one active unit; the other roles to none."""
    if role not in {r.value for r in Role}:
        raise DomainError(
            f"Unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}."
        )
    if role in UNIT_ROLES and unit is None:
        raise DomainError(N_("Caseworkers and supervisors must belong to a unit."))
    if unit is not None and unit.retired_dt is not None:
        raise DomainError(N_("The unit is retired: choose another."))
    unit_id = unit.id if unit is not None and role in UNIT_ROLES else None
    changes: dict[str, tuple[Any, Any]] = {}
    if user.role != role:
        changes["role"] = (user.role, role)
    if user.unit_id != unit_id:
        changes["unit"] = (_text(user.unit_id), _text(unit_id))
    user.role, user.unit_id = role, unit_id
    session.flush()
    _changed(session, actor, user, changes)


def set_enabled(session: Session, actor: audit.Actor, user: User, enabled: bool) -> None:
    if user.is_enabled != enabled:
        before = user.is_enabled
        user.is_enabled = enabled
        session.flush()
        _changed(session, actor, user, {"enabled": (before, enabled)})


def set_expiry(session: Session, actor: audit.Actor, user: User, last_day: date | None) -> None:
    """The last day the account may be used, or None for no end."""
    if user.expires_on != last_day:
        before = user.expires_on
        user.expires_on = last_day
        session.flush()
        _changed(session, actor, user, {"expires_on": (_text(before), _text(last_day))})


def rename_unit(session: Session, actor: audit.Actor, unit: Unit, name: str) -> None:
    name = name.strip()
    if not name:
        raise DomainError(N_("A unit needs a name."))
    unit.name = name
    session.flush()
    # The name itself is typed text: the entry says that it changed, not what it says.
    audit.append(session, actor, "admin:unit:rename", object_type="unit", object_id=unit.id)


def unit_overview(session: Session) -> list[tuple[Unit, int, int]]:
    """Every unit with its active members and open cases, for the administrator's page."""
    members: dict[object, int] = {
        unit_id: count
        for unit_id, count in session.execute(
            select(User.unit_id, func.count()).where(User.is_enabled).group_by(User.unit_id)
        )
    }
    open_cases: dict[object, int] = {
        unit_id: count
        for unit_id, count in session.execute(
            select(Case.unit_id, func.count())
            .where(Case.status == CaseStatus.OPEN)
            .group_by(Case.unit_id)
        )
    }
    units = session.scalars(select(Unit).order_by(Unit.retired_dt.is_not(None), Unit.code))
    return [(u, members.get(u.id, 0), open_cases.get(u.id, 0)) for u in units]


def retire_unit(session: Session, actor: audit.Actor, unit: Unit) -> None:
    """A unit with members or open cases cannot be retired: move them first."""
    members = session.scalar(
        select(func.count()).select_from(User).where(User.unit_id == unit.id, User.is_enabled)
    )
    open_cases = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.unit_id == unit.id, Case.status == CaseStatus.OPEN)
    )
    if members or open_cases:
        raise DomainError(
            N_("The unit still has active users or open cases: move or close them first.")
        )
    if unit.retired_dt is None:
        unit.retired_dt = utcnow()
        session.flush()
        audit.append(session, actor, "admin:unit:retire", object_type="unit", object_id=unit.id)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


RESET_VALID = timedelta(hours=24)
_RESET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


def _reset_hash(code: str) -> str:
    return hashlib.sha256(normalize_reset_code(code).encode()).hexdigest()


def normalize_reset_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def issue_password_reset(session: Session, actor: audit.Actor, user: User) -> tuple[str, datetime]:
    """A one-time code (60 bits, valid 24 hours) for the user to choose a new password with.
    Only its hash is stored: the code is shown to the administrator once, here."""
    raw = "".join(secrets.choice(_RESET_ALPHABET) for _ in range(12))
    code = "-".join(raw[i : i + 4] for i in range(0, 12, 4))
    user.reset_code_hash = _reset_hash(code)
    user.reset_expires_dt = utcnow() + RESET_VALID
    session.flush()
    audit.append(
        session,
        actor,
        "admin:user:reset",
        object_type="user",
        object_id=user.id,
        details={"expires": user.reset_expires_dt.isoformat(timespec="minutes")},
    )
    return code, user.reset_expires_dt


def create_account(
    session: Session,
    passwords: Passwords,
    actor: audit.Actor,
    *,
    username: str,
    display_name: str,
    role: str,
    unit: Unit | None,
) -> tuple[User, str, datetime]:
    """A new account that nobody knows the password of yet: the user chooses it with the
    one-time code returned here, so the administrator never learns it."""
    user = create_user(
        session,
        passwords,
        actor,
        username=username,
        display_name=display_name,
        password=secrets.token_urlsafe(32),  # never shown: replaced through the code
        role=role,
        unit=unit,
    )
    code, expires = issue_password_reset(session, actor, user)
    return user, code, expires


class ResetRefused(DomainError):
    pass


def redeem_password_reset(
    session: Session, passwords: Passwords, username: str, code: str, new_password: str
) -> User:
    """Set a new password with a valid code, once. Any wrong part gets the same refusal, so the
    page reveals neither accounts nor codes; the new password must pass the password rules."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    valid = (
        user is not None
        and user.is_active
        and user.reset_code_hash is not None
        and user.reset_expires_dt is not None
        and user.reset_expires_dt > utcnow()
        and hmac.compare_digest(user.reset_code_hash, _reset_hash(code))
    )
    if not valid or user is None:
        raise ResetRefused(N_("The username or the code is wrong, or the code has expired."))
    problem = new_password_problem(new_password, user.username, user.display_name)
    if problem is not None:
        raise DomainError(problem)
    user.password_hash = passwords.hash(new_password)
    user.reset_code_hash = user.reset_expires_dt = None
    session.flush()
    audit.append(
        session, user.as_actor(), "account:password:reset", object_type="user", object_id=user.id
    )
    return user
