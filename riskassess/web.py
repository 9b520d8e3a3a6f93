"""Request plumbing shared by every blueprint: the request's database session and vault, the
access decorators every view must carry, and the one commit point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, abort, current_app, g, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.orm import Session, sessionmaker

from riskassess.accounts.models import User
from riskassess.accounts.passwords import Passwords
from riskassess.config import Settings
from riskassess.core import audit
from riskassess.core.crypto import Keyring
from riskassess.core.keys import Vault
from riskassess.core.permissions import Permission, role_has
from riskassess.instruments.loader import InstrumentRegistry

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
EXTENSION = "riskassess"


@dataclass(frozen=True)
class AppState:
    """What create_app builds once and every request reads."""

    settings: Settings
    session_factory: sessionmaker[Session]
    keyring: Keyring
    instruments: InstrumentRegistry
    passwords: Passwords


def state() -> AppState:
    return cast(AppState, current_app.extensions[EXTENSION])


def db() -> Session:
    if "db" not in g:
        g.db = state().session_factory()
    return cast(Session, g.db)


def vault() -> Vault:
    if "vault" not in g:
        g.vault = Vault(state().keyring)
    return cast(Vault, g.vault)


def user() -> User:
    return cast(User, current_user._get_current_object())


def locale() -> str:
    """The request's interface language: "sv" or "en"."""
    return str(get_locale() or "sv")


def public(view: F) -> F:
    """Mark a view as reachable without logging in."""
    view.permission = PUBLIC  # type: ignore[attr-defined]
    return view


def require(permission: Permission) -> Callable[[F], F]:
    """Log-in and role check for a view; a refused role is audited and answered with 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("accounts.login"))
            if not role_has(user().role, permission):
                audit.append(
                    db(),
                    user().as_actor(),
                    str(permission),
                    object_type="route",
                    object_id=request.endpoint,
                    outcome=audit.Outcome.DENIED,
                )
                abort(403)
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


def _commit(response: Response) -> Response:
    """The single commit point: data, audit entries and all, or nothing.

    A failed commit raises, so the rendered page (which may show case data whose read was
    never logged) is thrown away and the user gets an error page instead.
    """
    session = g.pop("db", None)
    if session is not None:
        try:
            session.commit()
        finally:
            session.close()
    return response


def _discard(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.rollback()
        session.close()


def install_commit_point(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_discard)
