"""Health checks for a load balancer or an orchestrator: /healthz says the process answers,
/readyz that it can serve (database, keyring, instruments).

Both are public and answer short JSON with check names and ok/fail, never a secret, a path
or personal data. They open no login session (sessions.py skips the store for them), touch
no case data and write no audit entry. A failed check is logged with its reason's class only.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import NullPool, create_engine, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from riskassess.core.crypto import Keyring, KeyringError
from riskassess.core.db import sqlite_uri
from riskassess.core.installation import InstallationSetting
from riskassess.core.keys import check_keyring
from riskassess.web import public, state

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)
EXTENSION = "riskassess.readiness"
OK, FAIL = "ok", "fail"


def probe_engine(url: str, engine: Engine) -> Engine:
    """The engine the readiness checks read through. On SQLite a new connection per probe
    that may not create the file (so a moved or deleted database is noticed) and reads
    without BEGIN IMMEDIATE (so a probe never waits for, or holds up, the app's writers).
    PostgreSQL reads take no lock: the app's own pool is probed."""
    if not url.startswith("sqlite"):
        return engine
    path = make_url(url).database
    if not path or path == ":memory:":
        return engine

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(sqlite_uri(Path(path), "rw"), uri=True, timeout=5)

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


@dataclass(frozen=True)
class Readiness:
    engine: Engine

    def checks(self) -> dict[str, str]:
        app_state = state()
        result: dict[str, str] = {}
        with Session(self.engine) as session:
            reachable = _check("database", lambda: _database_ok(session))
            matched = _check("keyring", lambda: _keyring_ok(session if reachable else None))
            result["database"] = OK if reachable else FAIL
            result["keyring"] = OK if matched else FAIL
            session.rollback()
        result["instruments"] = OK if app_state.instruments.all() else FAIL
        return result


def _check(name: str, probe: Callable[[], bool]) -> bool:
    try:
        ok = probe()
    except (SQLAlchemyError, sqlite3.Error, OSError, KeyringError) as exc:
        log.warning("Readiness check %s failed: %s", name, type(exc).__name__)
        return False
    if not ok:
        log.warning("Readiness check %s failed", name)
    return ok


def _database_ok(session: Session) -> bool:
    """A trivial query that also proves it is this installation's database, of this mode."""
    mode = session.scalar(
        select(InstallationSetting.value).where(InstallationSetting.key == "mode")
    )
    return mode == state().settings.mode


def _keyring_ok(session: Session | None) -> bool:
    """The keyring file loads, is the one the server serves with (same blind-index key), and
    unwraps the database's data keys (when the database can be asked)."""
    app_state = state()
    path = app_state.settings.keyring_path
    ring = Keyring.load(path)
    if ring.blind_index_key != app_state.keyring.blind_index_key:
        return False
    if session is not None:
        check_keyring(session, ring, path)
    return True


def _readiness() -> Readiness:
    readiness: Readiness = current_app.extensions[EXTENSION]
    return readiness


@bp.get("/healthz")
@public
def healthz() -> Response:
    """The process is alive and answers; nothing else is asked."""
    return jsonify(status="alive")


@bp.get("/readyz")
@public
def readyz() -> tuple[Response, int]:
    checks = _readiness().checks()
    ready = all(value == OK for value in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "unready", "checks": checks}
    return jsonify(body), 200 if ready else 503


def init_health(app: Flask, url: str, engine: Engine) -> None:
    app.extensions[EXTENSION] = Readiness(probe_engine(url, engine))
    app.register_blueprint(bp)
