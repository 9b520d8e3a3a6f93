"""Request plumbing shared by every blueprint: the request's database session and vault, the
access decorators every view must carry, and the one commit point."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import Forbidden

from riskassess.accounts.models import User
from riskassess.accounts.passwords import Passwords
from riskassess.accounts.sessions import SessionStore
from riskassess.config import Settings
from riskassess.core import audit
from riskassess.core.crypto import Keyring, KeyringError
from riskassess.core.keys import KeyringFile, UnreadableData, Vault
from riskassess.core.permissions import Permission, role_has
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import InstrumentRegistry
from riskassess.instruments.services import definition_for
from riskassess.training.vignettes import VignetteRegistry

F = TypeVar("F", bound=Callable[..., Any])


class ClosedCaseForbidden(Forbidden):
    """A 403 whose page says why: the case is closed, and only its responsible caseworker
    and the unit's supervisors read a closed case. The refusal is audited before it is
    raised, like every other."""


PUBLIC = "public"
EXTENSION = "riskassess"


@dataclass(frozen=True)
class AppState:
    """What create_app builds once and every request reads."""

    settings: Settings
    session_factory: sessionmaker[Session]
    keyring_file: KeyringFile
    instruments: InstrumentRegistry
    passwords: Passwords
    sessions: SessionStore
    # Training vignettes: read in demo mode only; empty in production.
    vignettes: VignetteRegistry

    @property
    def keyring(self) -> Keyring:
        """The keyring as the file holds it now (re-read after a key rotation)."""
        return self.keyring_file.current()


def state() -> AppState:
    return cast(AppState, current_app.extensions[EXTENSION])


def db() -> Session:
    if "db" not in g:
        session = state().session_factory()
        audit.defer_appends(session)  # entries are written by the request's one commit
        g.db = session
    return cast(Session, g.db)


def vault() -> Vault:
    if "vault" not in g:
        keyring_file = state().keyring_file
        g.vault = Vault(keyring_file.current(), reload=keyring_file.refresh)
    return cast(Vault, g.vault)


def user() -> User:
    return cast(User, current_user._get_current_object())


def instrument_of(made_with: Any) -> Instrument:
    """The exact instrument version an assessment (or a row of its instrument columns) was
    made with: the loaded file if unchanged, else the definition stored at first use."""
    return definition_for(
        db(),
        state().instruments,
        made_with.instrument_id,
        made_with.instrument_version,
        made_with.instrument_hash,
    )


def locale() -> str:
    """The request's interface language: "sv" or "en"."""
    return str(get_locale() or "sv")


def public(view: F) -> F:
    """Mark a view as reachable without logging in."""
    view.permission = PUBLIC  # type: ignore[attr-defined]
    return view


AFTER_LOGIN = "after_login"


def safe_return_path(target: str | None) -> str:
    """Only a path on this site; never an absolute URL from the request (open redirect)."""
    parts = urlsplit(target or "")
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith(("//", "/\\")):
        return url_for("accounts.index")
    return path


def require(permission: Permission) -> Callable[[F], F]:
    """Log-in and role check for a view; a refused role is audited and answered with 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.method == "GET":
                    # Back here after the login: the path only, never the query string
                    # (a search may carry a personnummer), and kept server-side.
                    session[AFTER_LOGIN] = request.path
                return redirect(url_for("accounts.login"))
            if not role_has(user().role, permission):
                audit.append_denial(
                    db(), user().as_actor(), str(permission), "route", request.endpoint
                )
                abort(403)
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


def _commit(response: Response) -> Response:
    """The single commit point: data, audit entries and all, or nothing.

    Only a response the view itself answered without an error status commits. Flask also runs
    this for the error page of a view that raised or aborted; then everything the request
    flushed is rolled back, and only its refusal and failure entries are written, on their own.
    A page answered with an error status therefore must not show case data: its reads would
    not be logged. A failed commit raises, so the rendered page (which may show case data
    whose read was never logged) is thrown away and the user gets an error page instead.
    """
    if response.status_code >= 400:
        rollback_request()
    elif "db" in g:
        g.db.commit()  # if this raises, the error page's rollback still finds the session
        _checkpoint_if_due(g.db)
    return response


def _checkpoint_if_due(session: Session) -> None:
    """Sign a checkpoint of the log, outside the database, each time the commit just made
    passed a multiple of RISKASSESS_AUDIT_CHECKPOINT_EVERY entries. A failure is logged and
    does not fail the request: the data is committed, and the next multiple tries again."""
    written = audit.take_written(session)
    settings = state().settings
    if written is None or not audit.checkpoint_due(*written[:2], settings.audit_checkpoint_every):
        return
    try:
        line = audit.sign_written(state().keyring.audit_signer(), written[1], written[2])
        audit.append_line(settings.audit_checkpoints_path, line)
    except (KeyringError, audit.CheckpointFileError) as exc:
        current_app.logger.error(
            "Automatic audit checkpoint at entry %s failed: %s", written[1], exc
        )


def rollback_request() -> None:
    """Roll back the request's transaction, then write the refusals and failures it recorded
    (`audit.append(..., keep_on_rollback=True)`) in a transaction of their own.

    Error pages call this before they render: a session whose flush failed can load nothing
    (the page's own `current_user` included) until it is rolled back. The session stays open
    for the page; whatever it reads is rolled back again when the request ends."""
    session: Session | None = g.get("db")
    if session is None:
        return
    session.rollback()  # first: on SQLite the request holds the write lock
    kept = audit.take_kept(session)
    if not kept:
        return
    writer = state().session_factory()
    try:
        audit.write_kept(writer, kept)
        writer.commit()
        _checkpoint_if_due(writer)
    except Exception:  # the error page stands; the operator sees the log
        writer.rollback()
        current_app.logger.exception("A refusal or failure could not be written to the audit log")
    finally:
        writer.close()


def _end_request(_exc: BaseException | None) -> None:
    """After the response: roll back whatever did not commit, and close the session."""
    if "db" in g:
        try:
            rollback_request()
        finally:
            g.pop("db").close()


def install_commit_point(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_end_request)


def unreadable_data_page(exc: UnreadableData) -> tuple[str, int]:
    """Stored data did not decrypt (tampered, moved between rows, wrong or destroyed key).

    Nothing of the request is kept or shown: its transaction is rolled back. The failure is
    audited in a short transaction of its own, which must commit although the request fails,
    and is logged in one line naming table, row and reason, never content.
    """
    actor = user().as_actor() if current_user.is_authenticated else audit.Actor.system("anonymous")
    current_app.logger.error(
        "Unreadable stored data: %s %s %s %s", exc.action, exc.object_type, exc.object_id, exc
    )
    audit.append(
        db(),
        actor,
        exc.action,
        object_type=exc.object_type,
        object_id=exc.object_id,
        outcome=audit.Outcome.FAILURE,
        details=exc.details,
        keep_on_rollback=True,
    )
    rollback_request()
    return render_template("errors/error.html", code=500, unreadable=True), 500
