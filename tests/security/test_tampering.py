"""Tampered or misplaced ciphertext and wrong keys fail loudly, show nothing, change nothing,
and leave a committed failure entry in the audit log although the request itself fails."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case, RetentionHold
from riskassess.core import audit
from riskassess.core.audit import Actor, AuditCaseRef, AuditEntry, verify_chain
from riskassess.core.keys import DataKey
from tests.conftest import World, csrf

ANNA = "Anna Manipuleradsdotter"  # fictional
BERIT = "Berit Flyttadsdotter"  # fictional


def _failures(db: Session) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.outcome == "failure")))


def _reads_of(db: Session, case: Case) -> list[AuditEntry]:
    db.rollback()
    return list(
        db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "case:case:read", AuditEntry.object_id == str(case.id)
            )
        )
    )


@pytest.fixture
def two_cases(world: World, login: Callable[[str], None]) -> tuple[Case, Case]:
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    world.user("sup.north", "supervisor", unit)
    anna, berit = world.case(owner, name=ANNA), world.case(owner, name=BERIT)
    return anna, berit


def _flip_a_byte_of_identity(db: Session, case: Case) -> None:
    flipped = bytearray(case.identity)
    flipped[40] ^= 0x01
    db.execute(update(Case).where(Case.id == case.id).values(identity=bytes(flipped)))
    db.commit()


def _assert_refused_page(response_text: str, status: int) -> None:
    assert status == 500
    assert ANNA not in response_text and BERIT not in response_text
    assert "Traceback" not in response_text
    assert "kunde inte läsas" in response_text or "could not be read" in response_text


def test_identity_copied_from_another_case_is_refused_and_audited(
    client: FlaskClient,
    db: Session,
    two_cases: tuple[Case, Case],
    login: Callable[[str], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    anna, berit = two_cases
    db.execute(update(Case).where(Case.id == berit.id).values(identity=anna.identity))
    db.commit()
    login("cw.north")
    with caplog.at_level(logging.INFO):
        response = client.get(f"/cases/{berit.id}")
    _assert_refused_page(response.get_data(as_text=True), response.status_code)
    [failure] = _failures(db)
    assert failure.action == "crypto:value:decrypt" and failure.object_id == str(berit.id)
    assert '"reason":"sealed_under_another_data_key"' in failure.body
    assert '"actor_name":"cw.north"' in failure.body
    assert _reads_of(db, berit) == []  # the read itself was rolled back with the request
    assert "Unreadable stored data" in caplog.text and ANNA not in caplog.text
    assert verify_chain(db).ok
    # The untouched case still reads.
    assert ANNA in client.get(f"/cases/{anna.id}").get_data(as_text=True)


def test_a_flipped_byte_is_refused_and_audited(
    client: FlaskClient, db: Session, two_cases: tuple[Case, Case], login: Callable[[str], None]
) -> None:
    anna, _berit = two_cases
    _flip_a_byte_of_identity(db, anna)
    login("cw.north")
    response = client.get(f"/cases/{anna.id}")
    _assert_refused_page(response.get_data(as_text=True), response.status_code)
    [failure] = _failures(db)
    assert failure.action == "crypto:value:decrypt"
    assert '"reason":"does_not_decrypt"' in failure.body


def test_content_moved_between_assessments_of_one_case_is_refused(
    client: FlaskClient,
    world: World,
    db: Session,
    two_cases: tuple[Case, Case],
    login: Callable[[str], None],
) -> None:
    anna, _berit = two_cases
    owner = anna.created_by_id
    from riskassess.accounts.models import User

    user = db.get(User, owner)
    instrument = world.registry.get("savry-style", "1.0")
    assert user is not None and instrument is not None
    first = assessments.start_assessment(db, world.vault, user, anna, instrument)
    # One open draft per instrument: the first is withdrawn before the second is started.
    assessments.withdraw_assessment(db, world.vault, user, anna, first, "Fiktivt skäl")
    second = assessments.start_assessment(db, world.vault, user, anna, instrument)
    db.commit()
    # Same case, same data key: only the row binding (associated data) catches this.
    db.execute(update(Assessment).where(Assessment.id == second.id).values(content=first.content))
    db.commit()
    login("cw.north")
    response = client.get(f"/assessments/{second.id}")
    assert response.status_code == 500
    [failure] = _failures(db)
    assert failure.action == "crypto:value:decrypt" and failure.object_id == str(second.id)
    assert '"reason":"does_not_decrypt"' in failure.body


def test_a_data_key_swapped_for_another_does_not_unwrap(
    client: FlaskClient, db: Session, two_cases: tuple[Case, Case], login: Callable[[str], None]
) -> None:
    anna, berit = two_cases
    anna_key = db.get(DataKey, anna.data_key_id)
    assert anna_key is not None
    db.execute(
        update(DataKey)
        .where(DataKey.id == berit.data_key_id)
        .values(wrapped_key=anna_key.wrapped_key)
    )
    db.commit()
    login("cw.north")
    response = client.get(f"/cases/{berit.id}")
    _assert_refused_page(response.get_data(as_text=True), response.status_code)
    [failure] = _failures(db)
    assert failure.action == "crypto:data_key:unwrap"
    assert failure.object_id == str(berit.data_key_id)
    assert '"reason":"does_not_unwrap"' in failure.body


def test_a_key_missing_from_the_keyring_is_refused_and_audited(
    client: FlaskClient, db: Session, two_cases: tuple[Case, Case], login: Callable[[str], None]
) -> None:
    anna, _berit = two_cases
    db.execute(update(DataKey).where(DataKey.id == anna.data_key_id).values(kek_id="kek-gone"))
    db.commit()
    login("cw.north")
    response = client.get(f"/cases/{anna.id}")
    _assert_refused_page(response.get_data(as_text=True), response.status_code)
    [failure] = _failures(db)
    assert '"reason":"unknown_kek"' in failure.body


def test_a_change_to_a_case_with_a_broken_key_saves_nothing(
    client: FlaskClient, db: Session, two_cases: tuple[Case, Case], login: Callable[[str], None]
) -> None:
    anna, berit = two_cases
    path = f"/cases/{anna.id}"
    login("sup.north")
    token = csrf(client, path)
    db.execute(
        update(DataKey)
        .where(DataKey.id == anna.data_key_id)
        .values(wrapped_key=db.get(DataKey, berit.data_key_id).wrapped_key)  # type: ignore[union-attr]
    )
    db.commit()
    before = len(list(db.scalars(select(AuditEntry))))
    response = client.post(
        f"{path}/retention/hold",
        data={"csrf_token": token, "reason": "other", "note": "Fiktiv anteckning"},
    )
    assert response.status_code == 500
    db.rollback()
    assert db.get(RetentionHold, anna.id) is None
    entries = list(db.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert len(entries) == before + 1  # the failure, and no hold entry
    assert entries[-1].action == "crypto:data_key:unwrap" and entries[-1].outcome == "failure"


def test_a_damaged_case_is_marked_in_the_list_not_fatal_to_it(
    client: FlaskClient, db: Session, two_cases: tuple[Case, Case], login: Callable[[str], None]
) -> None:
    anna, _berit = two_cases
    _flip_a_byte_of_identity(db, anna)
    login("cw.north")
    response = client.get("/cases")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert BERIT in page and ANNA not in page
    assert "kunde inte läsas" in page
    [failure] = _failures(db)
    assert failure.action == "crypto:value:decrypt" and failure.object_id == str(anna.id)


def test_verify_checks_the_case_index_that_access_logs_are_read_through(
    app: Flask, db: Session
) -> None:
    """audit_case_ref is not hashed, but a supervisor's loggutdrag is read through it: a deleted
    or added row must make verify fail, naming the entry."""
    actor = Actor.system("test")
    shown = [str(uuid.uuid4()) for _ in range(3)]
    audit.append(db, actor, "case:case:list", details={"cases": shown})
    listed = audit.append(db, actor, "case:case:list", details={"cases": shown[:1]})
    audit.append(db, actor, "case:case:read", object_type="case", object_id=shown[0])
    db.commit()
    assert listed is not None
    assert verify_chain(db).ok

    db.execute(delete(AuditCaseRef).where(AuditCaseRef.seq == listed.seq))
    db.commit()
    result = verify_chain(db)
    assert not result.ok and result.first_bad_seq == listed.seq
    assert "lacks 1 and has 0 extra" in (result.problem or "")

    db.add(AuditCaseRef(seq=listed.seq, case_id=shown[0]))
    db.add(AuditCaseRef(seq=listed.seq, case_id=shown[2]))
    db.commit()
    result = verify_chain(db)
    assert not result.ok and "lacks 0 and has 1 extra" in (result.problem or "")
