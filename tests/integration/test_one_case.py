"""One child, one case (issue 14, item 1), on each real database: any written form of the
number finds the child's case, another unit hears only that one exists, two people creating the
same child at once get one case, old duplicates are merged by a supervisor, a transfer moves a
case between units, and a case has one open draft per instrument."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, event, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum import luhn

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.cases import retention
from riskassess.cases import services as cases
from riskassess.cases.duplicates import merge_cases
from riskassess.cases.models import Case, CaseStatus, CaseTransfer, RetentionHold
from riskassess.core import migrate
from riskassess.core.audit import AuditEntry, entry_fields, verify_chain
from riskassess.core.db import new_id, transaction
from riskassess.errors import AccessDenied, DomainError
from tests.conftest import PASSWORD, TEST_ACTOR, World, at_once, csrf
from tests.integration.casework import with_record

# A fictional boy born 14 March 2012, in the four ways people write his number.
BORN = date(2012, 3, 14)
FORMS = ("20120314-9818", "201203149818", "120314-9818", "1203149818")
EXISTS_HERE = "Barnet har redan ett ärende i din enhet"
EXISTS_ELSEWHERE = "Det finns redan ett ärende med det här personnumret i en annan enhet"


def _number(body: str) -> str:
    """A 12-digit number with its check digit, from 11 digits (century + 10 - 1)."""
    return f"{body[:8]}-{body[8:]}{luhn.calc_check_digit(body[2:])}"


@pytest.fixture
def staff(world: World) -> dict[str, User]:
    north, south = world.unit("nord"), world.unit("syd")
    return {
        "cw.north": world.user("cw.north", "caseworker", north),
        "cw.north2": world.user("cw.north2", "caseworker", north),
        "cw.south": world.user("cw.south", "caseworker", south),
        "sup.north": world.user("sup.north", "supervisor", north),
        "sup.south": world.user("sup.south", "supervisor", south),
    }


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")},
    )
    assert response.status_code == 302
    return client


def _new_case(client: FlaskClient, number: str, name: str = "Nils Påhittad") -> Any:
    return client.post(
        "/cases/new",
        data={"csrf_token": csrf(client, "/cases/new"), "name": name, "personnummer": number},
    )


def _cases(db: Session) -> list[Case]:
    db.rollback()
    return list(db.scalars(select(Case).order_by(Case.created_dt)))


def _details(entry: AuditEntry) -> dict[str, Any]:
    details: dict[str, Any] = entry_fields(entry.body)["details"]
    return details


def _entries(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    found = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return list(db.scalars(found))


def test_any_written_form_of_the_number_leads_to_the_one_case(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    worker = _client(app, "cw.north")
    first = _new_case(worker, FORMS[0])
    assert first.status_code == 302
    location = first.headers["Location"]
    for written in FORMS:
        again = _new_case(worker, written, name="Annat Namn")
        assert again.status_code == 302 and again.headers["Location"] == location
        assert EXISTS_HERE in worker.get(location).get_data(as_text=True)
    [case] = _cases(db)
    identity = cases.open_identity(db, world.vault, case)
    assert identity.name == "Nils Påhittad"  # the existing case is untouched
    refusals = [e for e in _entries(db, "case:case:create") if e.outcome == "failure"]
    assert len(refusals) == len(FORMS)
    for entry in refusals:
        assert entry.object_id == str(case.id)
        assert _details(entry) == {"exists": "own_unit"}


def test_birth_date_and_sex_come_from_the_number(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    worker = _client(app, "cw.north")
    form = worker.get("/cases/new").get_data(as_text=True)
    assert 'name="birth_date"' not in form and 'name="sex"' not in form
    girl = _number("2013051598" + "2")  # the second-to-last digit even: a girl
    coordination = _number("2011016198" + "3")  # day 61: born 1 January, a boy
    for number in (FORMS[2], girl, coordination):
        assert _new_case(worker, number).status_code == 302
    identities = [cases.open_identity(db, world.vault, c) for c in _cases(db)]
    assert [(i.birth_date, i.sex) for i in identities] == [
        (BORN, "male"),
        (date(2013, 5, 15), "female"),
        (date(2011, 1, 1), "male"),
    ]
    assert identities[0].personnummer == "201203149818"
    assert identities[2].personnummer.startswith("20110161")  # the number as the person has it


def test_a_closed_case_in_the_own_unit_is_reopened(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    worker = _client(app, "cw.north")
    location = _new_case(worker, FORMS[0]).headers["Location"]
    [case] = _cases(db)
    cases.close_case(db, staff["cw.north"], case)
    db.commit()
    again = _new_case(worker, FORMS[3])
    assert again.headers["Location"] == location
    assert "Det var avslutat och är nu öppnat igen" in worker.get(location).get_data(as_text=True)
    [case] = _cases(db)
    assert case.status == CaseStatus.OPEN and case.closed_dt is None
    assert len(_entries(db, "case:case:reopen")) == 1


def test_another_unit_hears_only_that_a_case_exists(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    _new_case(_client(app, "cw.north"), FORMS[0])
    [case] = _cases(db)
    outsider = _client(app, "cw.south")
    response = _new_case(outsider, FORMS[1], name="Nils Påhittad")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert EXISTS_ELSEWHERE in page
    assert "Skicka begäran om överflyttning" in page and "nödåtkomst" in page.lower()
    for secret in (case.reference, str(case.id), "Testenhet nord", "2012-03-14", "Pojke"):
        assert secret not in page
    assert len(_cases(db)) == 1
    [refusal] = [e for e in _entries(db, "case:case:create") if e.outcome == "failure"]
    assert _details(refusal) == {"exists": "other_unit"}
    assert "9818" not in refusal.body


def test_a_transfer_request_is_accepted_by_the_holding_units_supervisor(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    _new_case(_client(app, "cw.north"), FORMS[0])
    [case] = _cases(db)
    outsider = _client(app, "cw.south")
    _new_case(outsider, FORMS[2])
    token = csrf(outsider, "/cases/new")
    sent = outsider.post(
        "/cases/transfer-requests", data={"csrf_token": token, "personnummer": FORMS[3]}
    )
    assert sent.status_code == 302
    assert "Begäran skickades" in outsider.get(sent.headers["Location"]).get_data(as_text=True)
    twice = outsider.post(
        "/cases/transfer-requests", data={"csrf_token": token, "personnummer": FORMS[0]}
    )
    assert "begäran väntar" in outsider.get(twice.headers["Location"]).get_data(as_text=True)
    db.rollback()
    [transfer] = db.scalars(select(CaseTransfer)).all()
    assert transfer.state == "pending" and transfer.to_unit_id == staff["cw.south"].unit_id

    # Only the supervisor of the unit holding the case decides.
    other = _client(app, "sup.south")
    assert case.reference not in other.get("/cases/transfers").get_data(as_text=True)
    path = f"/case-transfers/{transfer.id}/decide"
    denied = other.post(
        path, data={"csrf_token": csrf(other, "/cases/transfers"), "decision": "accept"}
    )
    assert denied.status_code == 403
    supervisor = _client(app, "sup.north")
    listing = supervisor.get("/cases/transfers").get_data(as_text=True)
    assert case.reference in listing and "Test cw.south" in listing
    accepted = supervisor.post(
        path, data={"csrf_token": csrf(supervisor, "/cases/transfers"), "decision": "accept"}
    )
    assert accepted.status_code == 302
    [case] = _cases(db)
    assert case.unit_id == staff["cw.south"].unit_id
    assert case.assigned_to_id == staff["cw.south"].id
    assert _new_case(outsider, FORMS[0]).headers["Location"].endswith(str(case.id))
    [entry] = _entries(db, "case:transfer:accept")
    assert entry.object_id == str(transfer.id)
    assert _details(entry) == {"case": str(case.id), "to_unit": str(case.unit_id)}
    again = supervisor.post(
        path, data={"csrf_token": csrf(supervisor, "/cases/transfers"), "decision": "decline"}
    )
    assert again.status_code == 403  # the case is no longer the supervisor's unit's
    assert verify_chain(db).ok


def test_a_declined_transfer_leaves_the_case(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    _new_case(_client(app, "cw.north"), FORMS[0])
    outsider = _client(app, "cw.south")
    outsider.post(
        "/cases/transfer-requests",
        data={"csrf_token": csrf(outsider, "/cases/new"), "personnummer": FORMS[0]},
    )
    db.rollback()
    transfer = db.scalars(select(CaseTransfer)).one()
    supervisor = _client(app, "sup.north")
    supervisor.post(
        f"/case-transfers/{transfer.id}/decide",
        data={"csrf_token": csrf(supervisor, "/cases/transfers"), "decision": "decline"},
    )
    [case] = _cases(db)
    db.refresh(transfer)
    assert transfer.state == "declined" and case.unit_id == staff["cw.north"].unit_id
    assert len(_entries(db, "case:transfer:decline")) == 1


def test_the_unique_claim_is_enforced_by_the_database(
    world: World, staff: dict[str, User], db: Session
) -> None:
    case = world.case(staff["cw.north"])
    key = world.vault.create_data_key(db)
    twin = Case(
        id=new_id(),
        reference="RA-TWIN001",
        unit_id=case.unit_id,
        data_key_id=key.id,
        created_by_id=staff["cw.north"].id,
        status=CaseStatus.OPEN,
        pnr_index=case.pnr_index,
        pnr_claim=case.pnr_claim,
        identity=b"x",
    )
    db.add(twin)
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_a_lost_race_at_the_insert_gets_the_exists_answer(
    world: World, staff: dict[str, User], db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other request committed between this one's check and its insert: the unique claim
    fails the insert, inside its savepoint, and the answer is the same as the check's."""
    existing = world.case(staff["cw.north"])
    identity = cases.open_identity(db, world.vault, existing)
    looked_up = cases._claimed
    calls: list[str] = []

    def stale_first(session: Session, index: str) -> Case | None:
        calls.append(index)
        return None if len(calls) == 1 else looked_up(session, index)

    monkeypatch.setattr(cases, "_claimed", stale_first)
    with pytest.raises(cases.CaseExists) as raised:
        cases.create_case(db, world.vault, staff["cw.north2"], identity)
    assert raised.value.case.id == existing.id and raised.value.same_unit
    assert len(calls) == 2
    db.commit()  # the session is usable: the refusal is recorded
    assert len(_cases(db)) == 1
    assert [e.outcome for e in _entries(db, "case:case:create")] == ["success", "failure"]


@contextmanager
def inserts_meet(app: Flask, parties: int = 2) -> Iterator[None]:
    """Hold each request's insert of a case until both have checked and reached it."""
    barrier = threading.Barrier(parties, timeout=20)
    factory = app.extensions["riskassess"].session_factory

    def wait(session: Session, _context: Any, _instances: Any) -> None:
        if any(isinstance(obj, Case) for obj in session.new):
            barrier.wait()

    event.listen(factory, "before_flush", wait)
    try:
        yield
    finally:
        event.remove(factory, "before_flush", wait)


def test_two_caseworkers_creating_the_same_child_at_once_get_one_case(
    app: Flask, world: World, staff: dict[str, User], db: Session, database_url: str
) -> None:
    """On PostgreSQL both requests check, find nothing and insert together (the barrier sees
    to it): the unique claim decides. SQLite runs one writing request at a time, so there the
    second finds the first's case at its check."""
    clients = [_client(app, "cw.north"), _client(app, "cw.north2")]
    tokens = [csrf(client, "/cases/new") for client in clients]

    def create(index: int) -> Callable[[], tuple[int, str, str]]:
        def post() -> tuple[int, str, str]:
            response = clients[index].post(
                "/cases/new",
                data={
                    "csrf_token": tokens[index],
                    "name": "Nils Påhittad",
                    "personnummer": FORMS[index],
                },
            )
            location = response.headers.get("Location", "")
            page = clients[index].get(location).get_data(as_text=True) if location else ""
            return response.status_code, location, page

        return post

    if database_url.startswith("postgresql"):
        with inserts_meet(app):
            results = at_once([create(0), create(1)])
    else:
        results = at_once([create(0), create(1)])

    assert [status for status, _location, _page in results] == [302, 302]
    [case] = _cases(db)
    assert {location for _status, location, _page in results} == {f"/cases/{case.id}"}
    assert sum(EXISTS_HERE in page for _status, _location, page in results) == 1
    outcomes = sorted(e.outcome for e in _entries(db, "case:case:create"))
    assert outcomes == ["failure", "success"]
    assert verify_chain(db).ok


def _duplicate_of(db: Session, world: World, kept: Case, owner: User) -> Case:
    """A second case of the same child, as databases made before the rule may hold."""
    twin = world.case(owner, name="Testa Dubblett")
    twin.pnr_index, twin.pnr_claim = kept.pnr_index, None
    db.commit()
    return twin


def test_a_supervisor_sees_and_merges_duplicates_keeping_every_assessment(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    owner = staff["cw.north"]
    kept = world.case(owner)
    twin = _duplicate_of(db, world, kept, owner)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    # Work in the duplicate: an assessment waiting for review, and a hold with a note.
    moved = assessments.start_assessment(db, world.vault, owner, twin, instrument)
    content = with_record(
        Content(
            {
                item.code: ItemRating(item.scale.levels[0].code, "Fiktiv")
                for item in instrument.items
            },
            "low",
            "Fiktiv sammanfattning",
        )
    )
    assessments.save_assessment(db, world.vault, owner, twin, moved, content, moved.lock_version)
    assessments.submit_assessment(db, world.vault, owner, twin, moved, instrument)
    db.commit()
    supervisor_user = staff["sup.north"]
    retention.place_hold(db, world.vault, supervisor_user, twin, "other", "Fiktiv anteckning")
    db.commit()

    supervisor = _client(app, "sup.north")
    listing = supervisor.get("/cases/duplicates").get_data(as_text=True)
    assert kept.reference in listing and twin.reference in listing
    assert "Testa" not in listing  # no identity on the list
    response = supervisor.post(
        f"/cases/{kept.id}/merge",
        data={"csrf_token": csrf(supervisor, "/cases/duplicates"), "merged": str(twin.id)},
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{kept.id}"
    db.rollback()
    db.expire_all()
    stored = db.get(Assessment, moved.id)
    assert stored is not None and stored.case_id == kept.id
    kept_now, twin_now = db.get(Case, kept.id), db.get(Case, twin.id)
    assert kept_now is not None and twin_now is not None
    assert assessments.open_content(db, world.vault, kept_now, stored).judgement_reason == (
        "Fiktiv sammanfattning"
    )
    hold = db.get(RetentionHold, kept.id)
    assert hold is not None and db.get(RetentionHold, twin.id) is None
    status = retention.retention_status(db, world.vault, staff["sup.north"], kept_now, 5)
    assert status.hold is not None
    assert twin_now.status == CaseStatus.MERGED and twin_now.merged_into_id == kept.id
    assert twin_now.pnr_claim is None and kept_now.pnr_claim == kept_now.pnr_index
    # Old links lead to the kept case; the duplicates page is empty now.
    old = supervisor.get(f"/cases/{twin.id}")
    assert old.status_code == 302 and old.headers["Location"] == f"/cases/{kept.id}"
    assert "Din enhet har inga dubblettärenden" in supervisor.get("/cases/duplicates").get_data(
        as_text=True
    )
    [entry] = _entries(db, "case:case:merge")
    assert entry.object_id == str(kept.id)
    assert _details(entry) == {
        "merged": str(twin.id),
        "assessments": [str(moved.id)],
        "hold_moved": True,
    }
    assert verify_chain(db).ok


def test_merged_review_comments_open_under_the_kept_key(
    world: World, staff: dict[str, User], db: Session
) -> None:
    owner, supervisor = staff["cw.north"], staff["sup.north"]
    kept = world.case(owner)
    twin = _duplicate_of(db, world, kept, owner)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    moved = assessments.start_assessment(db, world.vault, owner, twin, instrument)
    assessments.withdraw_assessment(db, world.vault, owner, twin, moved, "Fiktivt skäl")
    db.commit()
    merge_cases(db, world.vault, supervisor, kept, twin)
    db.commit()
    decision = db.scalars(
        select(ReviewDecision).where(ReviewDecision.assessment_id == moved.id)
    ).one()
    comment = world.vault.open_json(
        db, kept.data_key_id, decision.comment, "review_decision", "comment", decision.id
    )
    assert comment == "Fiktivt skäl"


def test_merging_is_refused_across_units_children_and_roles(
    world: World, staff: dict[str, User], db: Session
) -> None:
    kept = world.case(staff["cw.north"])
    twin = _duplicate_of(db, world, kept, staff["cw.north"])
    other_child = world.case(staff["cw.north"], name="Annat Barn")
    south_case = world.case(staff["cw.south"])
    with pytest.raises(DomainError, match="not of the same child"):
        merge_cases(db, world.vault, staff["sup.north"], kept, other_child)
    with pytest.raises(DomainError, match="two different"):
        merge_cases(db, world.vault, staff["sup.north"], kept, kept)
    with pytest.raises(AccessDenied):
        merge_cases(db, world.vault, staff["sup.north"], kept, south_case)
    with pytest.raises(AccessDenied):
        merge_cases(db, world.vault, staff["cw.north"], kept, twin)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Case).where(Case.status == "merged")) == 0


def test_one_open_draft_per_instrument_leads_to_the_open_one(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    case = world.case(staff["cw.north"])
    worker = _client(app, "cw.north")
    path = f"/cases/{case.id}"

    def start() -> Any:
        return worker.post(
            f"{path}/assessments",
            data={"csrf_token": csrf(worker, path), "instrument": "savry-style@1.0"},
        )

    first = start().headers["Location"].split("/")[2]
    again = start()
    assert again.status_code == 302 and again.headers["Location"] == f"/assessments/{first}"
    page = worker.get(again.headers["Location"]).get_data(as_text=True)
    assert "Det finns redan en pågående bedömning med det här instrumentet" in page
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Assessment)) == 1


def _row(table: Any, **given: object) -> dict[str, object]:
    """Every NOT NULL column of an old table filled with a plain value of its type."""
    row: dict[str, object] = {}
    for column in table.columns:
        if column.nullable or column.name in given:
            continue
        kind = type(column.type).__name__.upper()
        if "DATE" in kind or "TIME" in kind:
            row[column.name] = datetime(2020, 1, 1)
        elif "INT" in kind or "BOOL" in kind:
            row[column.name] = 0
        elif "BINARY" in kind or "BLOB" in kind:
            row[column.name] = b"x"
        else:
            row[column.name] = f"{column.name}-{uuid.uuid4().hex[:8]}"
    return row | given


def test_the_upgrade_keeps_old_duplicates_and_claims_the_oldest(tmp_path: Path) -> None:
    """A database made before 0013 may hold two cases of one child: the upgrade does not fail,
    the older case claims the number and the younger waits for a supervisor's merge."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    command.upgrade(migrate.alembic_config(url), "0011")
    engine = create_engine(url)
    try:
        old = MetaData()
        old.reflect(engine)
        unit, user, key = (uuid.uuid4().hex for _ in range(3))
        with engine.begin() as connection:
            connection.execute(insert(old.tables["unit"]).values(_row(old.tables["unit"], id=unit)))
            account = old.tables["user_account"]
            connection.execute(insert(account).values(_row(account, id=user, unit_id=unit)))
            data_key = old.tables["data_key"]
            connection.execute(insert(data_key).values(_row(data_key, id=key)))
            for number, (index, minute) in enumerate([("same", 2), ("same", 1), ("other", 3)]):
                case_file = old.tables["case_file"]
                values = _row(
                    case_file,
                    id=uuid.uuid4().hex,
                    reference=f"RA-OLD{number}",
                    unit_id=unit,
                    data_key_id=key,
                    created_by_id=user,
                    status="open",
                    created_dt=datetime(2020, 1, 1, 0, minute),
                    pnr_index=index,
                )
                connection.execute(insert(case_file).values(values))
        command.upgrade(migrate.alembic_config(url), "head")
        with engine.connect() as connection:
            claims = dict(
                connection.exec_driver_sql("SELECT reference, pnr_claim FROM case_file").all()
            )
        assert claims == {"RA-OLD0": None, "RA-OLD1": "same", "RA-OLD2": "other"}
    finally:
        engine.dispose()


def test_gallring_of_the_kept_case_leaves_its_tombstone_pointing_nowhere(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    """The tombstone refers to the kept case; deleting the kept case (its own gallring) must
    not fail on that reference, and the tombstone is gallrad by its own dates later."""
    kept = world.case(staff["cw.north"])
    twin = _duplicate_of(db, world, kept, staff["cw.north"])
    merge_cases(db, world.vault, staff["sup.north"], kept, twin)
    db.commit()
    kept_id, twin_id = kept.id, twin.id
    # Through the app's engine, which enforces foreign keys on SQLite as production does.
    factory = app.extensions["riskassess"].session_factory
    with transaction(factory) as session:
        retention.destroy_case_key(session, world.vault, TEST_ACTOR, kept_id, 5, date(2100, 1, 1))
    with transaction(factory) as session:
        retention.delete_case_rows(session, TEST_ACTOR, kept_id)
    db.rollback()
    db.expire_all()
    assert db.get(Case, kept_id) is None
    tombstone = db.get(Case, twin_id)
    assert tombstone is not None and tombstone.merged_into_id is None
    assert tombstone.status == CaseStatus.MERGED


def test_the_unclaimed_duplicate_can_be_the_one_kept(
    world: World, staff: dict[str, User], db: Session
) -> None:
    """The claim moves: freed on the merged case before the kept one takes it."""
    claimed = world.case(staff["cw.north"])
    claimed.is_protected = True
    db.commit()
    twin = _duplicate_of(db, world, claimed, staff["cw.north"])
    merge_cases(db, world.vault, staff["sup.north"], twin, claimed)
    db.commit()
    assert twin.pnr_claim == twin.pnr_index and claimed.pnr_claim is None
    assert twin.is_protected  # a protection of either case holds for the kept one
    with pytest.raises(DomainError, match="already been merged"):
        merge_cases(db, world.vault, staff["sup.north"], twin, claimed)
