"""Two people acting on the same assessment at the same moment, on PostgreSQL.

There both requests can read the same lock version before either writes; the later write then
matches no row. The loser must get the same kind of message SQLite's turn-taking gives ("someone
else saved / decided first"), never a bare 500, and the data and the audit chain stay right.

A `before_flush` hook holds each request at its write until both have reached it, so the two
writes really race instead of running one after the other by chance.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit
from riskassess.assessments import services as assessments
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.assessments.workflow import State
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry, verify_chain
from riskassess.core.db import make_engine
from riskassess.instruments.models import InstrumentVersion
from riskassess.instruments.services import record_version
from tests.conftest import PASSWORD, World, at_once, csrf, lock_version
from tests.security.test_authorization_matrix import _arrange

DECIDED_ELSEWHERE = "Någon annan beslutade om bedömningen samtidigt."
EDITED_ELSEWHERE = "Någon annan sparade bedömningen efter att du öppnade den."


@pytest.fixture(autouse=True)
def _postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite runs one writing request at a time")


@contextmanager
def writes_meet(app: Flask, parties: int = 2) -> Iterator[threading.Barrier]:
    """Hold every request's flush of a changed assessment until `parties` have reached it."""
    barrier = threading.Barrier(parties, timeout=20)
    factory = app.extensions["riskassess"].session_factory

    def wait(session: Session, _context: Any, _instances: Any) -> None:
        if any(isinstance(obj, Assessment) for obj in session.dirty):
            barrier.wait()

    event.listen(factory, "before_flush", wait)
    try:
        yield barrier
    finally:
        event.remove(factory, "before_flush", wait)


def _north(world: World) -> Unit:
    unit = world.session.scalar(select(Unit).where(Unit.code == "nord"))
    assert unit is not None
    return unit


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")},
    )
    assert response.status_code == 302
    return client


def test_two_supervisors_decideat_once(app: Flask, world: World, db: Session) -> None:
    ids = _arrange(world)
    world.user("sup.north2", "supervisor", _north(world))
    clients = [_client(app, "sup.north"), _client(app, "sup.north2")]
    path = f"/assessments/{ids['submitted']}"
    tokens = [csrf(client, path) for client in clients]

    def decide(index: int, decision: str) -> Callable[[], tuple[int, str]]:
        def post() -> tuple[int, str]:
            response = clients[index].post(
                f"{path}/review",
                data={
                    "csrf_token": tokens[index],
                    "decision": decision,
                    "comment": "Fiktiv kommentar",
                    "password": PASSWORD,
                },
            )
            page = clients[index].get(path).get_data(as_text=True)
            return response.status_code, page

        return post

    with writes_meet(app):
        results = at_once([decide(0, "approve"), decide(1, "return")])

    assert [status for status, _page in results] == [302, 302]
    pages = [page for _status, page in results]
    assert sum(DECIDED_ELSEWHERE in page for page in pages) == 1, "one loser, told so"
    db.rollback()
    stored = db.get(Assessment, uuid.UUID(ids["submitted"]))
    assert stored is not None and stored.state in (State.APPROVED.value, State.RETURNED.value)
    decisions = db.scalar(
        select(func.count())
        .select_from(ReviewDecision)
        .where(ReviewDecision.assessment_id == stored.id)
    )
    assert decisions == 1
    entries = db.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_id == str(stored.id),
            AuditEntry.action.in_(["case:assessment:approve", "case:assessment:return"]),
        )
    ).all()
    assert len(entries) == 1
    assert verify_chain(db).ok


def test_two_caseworkers_save_the_same_versionat_once(
    app: Flask, world: World, db: Session
) -> None:
    ids = _arrange(world)  # cw.north2 is the case owner's colleague there
    clients = [_client(app, "cw.north"), _client(app, "cw.north2")]
    path = f"/assessments/{ids['draft']}/rate/H"
    version = lock_version(db, ids["draft"])
    tokens = [csrf(client, path) for client in clients]

    def save(index: int, rating: str) -> Callable[[], tuple[int, str]]:
        def post() -> tuple[int, str]:
            response = clients[index].post(
                path,
                data={
                    "csrf_token": tokens[index],
                    "lock_version": str(version),
                    "rating_H1": rating,
                    "rationale_H1": f"Fiktiv {rating}",
                },
            )
            return response.status_code, response.get_data(as_text=True)

        return post

    with writes_meet(app):
        results = at_once([save(0, "low"), save(1, "high")])

    statuses = sorted(status for status, _page in results)
    assert statuses == [200, 302], results
    loser = next(page for status, page in results if status == 200)
    assert EDITED_ELSEWHERE in loser
    assert lock_version(db, ids["draft"]) == version + 1
    stored = db.get(Assessment, uuid.UUID(ids["draft"]))
    assert stored is not None
    case = db.get(Case, stored.case_id)
    assert case is not None
    content = assessments.open_content(db, world.vault, case, stored)
    winner = "low" if results[0][0] == 302 else "high"
    assert content.rating("H1").rating == winner
    assert verify_chain(db).ok


def test_two_first_uses_of_an_instrument_version_record_it_once(
    world: World, arrange_engine: Engine
) -> None:
    """Two assessments started at once with a version nobody used yet: both record it; the
    second insert waits for the first's key, then uses the first's row (it was a 500)."""
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    first, second = Session(arrange_engine), Session(arrange_engine)
    found: dict[str, InstrumentVersion] = {}

    def second_use() -> None:
        found["row"] = record_version(second, instrument)
        second.commit()

    try:
        record_version(first, instrument)  # inserted, not yet committed
        waiting = threading.Thread(target=second_use)
        waiting.start()
        time.sleep(0.5)  # the second insert is now blocked on the first's key
        first.commit()
        waiting.join(20)
        assert found["row"].content_hash == instrument.content_hash
    finally:
        first.close()
        second.close()
    with Session(arrange_engine) as check:
        assert check.scalar(select(func.count()).select_from(InstrumentVersion)) == 1


def test_a_version_recorded_by_another_request_meanwhile_is_no_clash(
    world: World, arrange_engine: Engine
) -> None:
    """The other request commits the version just after this one looked for it: this one must
    use that row, not refuse it as a changed file with the same version (it did, and the
    caseworker was told nothing was started)."""
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    engine = make_engine(arrange_engine.url.render_as_string(hide_password=False))
    other, this = Session(arrange_engine), Session(engine)
    done: list[bool] = []

    def meanwhile(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if not done and "FROM instrument_version" in statement:  # after its first look
            done.append(True)
            record_version(other, instrument)
            other.commit()

    event.listen(engine, "after_cursor_execute", meanwhile)
    try:
        assert record_version(this, instrument).content_hash == instrument.content_hash
        this.commit()
        assert done
    finally:
        event.remove(engine, "after_cursor_execute", meanwhile)
        other.close()
        this.close()
        engine.dispose()
