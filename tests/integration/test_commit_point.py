"""The request's one commit point commits only what a view finished without an error.

A view that raises, aborts or answers an error status after it flushed leaves no row and no
audit entry; only refusal and failure entries, written in a transaction of their own, stay.
The error page renders even when the session was left broken by a failed flush.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from riskassess.accounts import services as accounts
from riskassess.accounts.models import Unit
from riskassess.app import create_app
from riskassess.core import audit
from riskassess.core.audit import AuditEntry
from riskassess.web import db, public, user
from tests.conftest import World, csrf, make_settings

NOTHING_SAVED = "Ingenting sparades."


def _add_unit() -> Unit:
    """A change and its audit entry, flushed in the request's transaction."""
    return accounts.create_unit(db(), user().as_actor(), "ghost", "Spökenhet")


@pytest.fixture
def failing_app(database_url: str, keyring_path: Path) -> Iterator[Flask]:
    """The app with views that fail after they flushed, and errors shown as users see them."""
    app = create_app(make_settings(database_url, keyring_path))
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.post("/test/ok")
    @public
    def succeed() -> str:
        _add_unit()
        return "saved"

    @app.post("/test/raise")
    @public
    def raise_after_flush() -> str:
        _add_unit()
        raise RuntimeError("a bug after the flush")

    @app.post("/test/abort")
    @public
    def abort_after_flush() -> str:
        _add_unit()
        abort(409)

    @app.post("/test/error-status")
    @public
    def error_status_after_flush() -> tuple[str, int]:
        _add_unit()
        return "refused", 400

    @app.post("/test/deny")
    @public
    def deny_after_flush() -> str:
        unit = _add_unit()
        audit.append_denial(db(), user().as_actor(), "admin:unit:create", "unit", unit.id)
        abort(403)

    @app.post("/test/broken-flush")
    @public
    def broken_flush() -> str:
        first = _add_unit()
        db().add(Unit(id=first.id, code="twin", name="Samma id"))
        db().flush()  # fails: the session now needs a rollback before it can load anything
        return "unreachable"

    yield app
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()


@pytest.fixture
def failing_client(failing_app: Flask, world: World) -> FlaskClient:
    unit = world.unit("nord")
    world.user("cw.north", "caseworker", unit)
    client = failing_app.test_client()
    response = client.post(
        "/login",
        data={
            "username": "cw.north",
            "password": "correct-horse-battery",
            "csrf_token": csrf(client, "/login"),
        },
    )
    assert response.status_code == 302
    return client


def _post(client: FlaskClient, path: str) -> TestResponse:
    return client.post(path, data={"csrf_token": csrf(client, "/instruments")})


def _unit_rows(db_session: Session) -> list[str]:
    db_session.rollback()
    return list(db_session.scalars(select(Unit.code)))


def _entries(db_session: Session, action: str) -> list[AuditEntry]:
    """The entries of the requests (the test's own set-up of unit "nord" left out)."""
    db_session.rollback()
    nord = db_session.scalar(select(Unit.id).where(Unit.code == "nord"))
    query = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.object_id != str(nord))
    return list(db_session.scalars(query))


@pytest.mark.parametrize(
    ("path", "status"),
    [("/test/raise", 500), ("/test/abort", 409), ("/test/error-status", 400)],
)
def test_a_failed_request_leaves_no_row_and_no_audit_entry(
    failing_client: FlaskClient, db: Session, path: str, status: int
) -> None:
    response = _post(failing_client, path)
    assert response.status_code == status
    assert "ghost" not in _unit_rows(db)
    assert _entries(db, "admin:unit:create") == []
    if status == 500:
        page = response.get_data(as_text=True)
        assert NOTHING_SAVED in page and "Test cw.north" in page


def test_a_refusal_is_kept_though_the_request_is_rolled_back(
    failing_client: FlaskClient, db: Session
) -> None:
    response = _post(failing_client, "/test/deny")
    assert response.status_code == 403
    assert "ghost" not in _unit_rows(db)
    assert _entries(db, "admin:unit:create") and all(
        e.outcome == audit.Outcome.DENIED for e in _entries(db, "admin:unit:create")
    )
    assert audit.verify_chain(db).ok


def test_the_error_page_renders_on_a_session_broken_by_a_failed_flush(
    failing_client: FlaskClient, db: Session
) -> None:
    response = _post(failing_client, "/test/broken-flush")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    # The app's own page in Swedish, with the menu of the logged-in user: not Werkzeug's.
    assert NOTHING_SAVED in page and "Test cw.north" in page
    assert "Internal Server Error" not in page
    assert _unit_rows(db) == ["nord"]
    assert _entries(db, "admin:unit:create") == []


def test_the_same_change_in_a_view_that_succeeds_is_kept(
    failing_client: FlaskClient, db: Session
) -> None:
    response = _post(failing_client, "/test/ok")
    assert response.status_code == 200
    assert "ghost" in _unit_rows(db)
    assert [e.outcome for e in _entries(db, "admin:unit:create")] == [audit.Outcome.SUCCESS]
