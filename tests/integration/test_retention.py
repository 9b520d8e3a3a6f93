"""Gallring on each database: holds by a supervisor, the dry run, crypto-shredding before the
rows go, the audit trail of every deleted case, and a run that stopped half-way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from stdnum import luhn

from riskassess.accounts.models import Unit, User
from riskassess.assessments import services as assessments
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.cases import retention
from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.cases.models import Case, RetentionHold
from riskassess.cli import main
from riskassess.core.audit import AuditEntry
from riskassess.core.db import make_engine, make_session_factory, transaction
from riskassess.core.keys import DataKey
from tests.conftest import TEST_ACTOR, World, csrf

NAME = "Gallringa Arkivsdotter"  # fictional
NOTE = "Forskningsurval-Lingonris-2231"  # fictional


def _cli(database_url: str, keyring: Path, *args: str, years: str = "5") -> Result:
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring),
        "RISKASSESS_MODE": "production",
        "RISKASSESS_RETENTION_YEARS": years,
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _age(db: Session, case: Case, years: float) -> None:
    """Move the case's and its assessments' changes `years` back in time."""
    then = datetime.now(UTC) - timedelta(days=365.25 * years)
    db.execute(update(Case).where(Case.id == case.id).values(created_dt=then, updated_dt=then))
    db.execute(update(Assessment).where(Assessment.case_id == case.id).values(updated_dt=then))
    db.commit()


def _case_with_history(world: World, owner_name: str = "cw.north") -> Case:
    """A case with a withdrawn assessment (so a review decision row) and a draft."""
    user = world.session.scalar(select(User).where(User.username == owner_name))
    assert user is not None
    case = world.case(user, name=NAME)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    first = assessments.start_assessment(world.session, world.vault, user, case, instrument)
    assessments.withdraw_assessment(
        world.session, world.vault, user, case, first, "Fiktivt skäl till återkallelse"
    )
    assessments.start_assessment(world.session, world.vault, user, case, instrument)
    world.session.commit()
    return case


def _count(db: Session, model: type[object], *where: object) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def _entries(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def north(world: World) -> World:
    unit = world.unit("nord")
    world.user("cw.north", "caseworker", unit)
    world.user("sup.north", "supervisor", unit)
    return world


def test_dry_run_lists_case_numbers_only_and_changes_nothing(
    north: World, db: Session, database_url: str, keyring_path: Path
) -> None:
    old, recent = _case_with_history(north), _case_with_history(north)
    _age(db, old, 6)
    _age(db, recent, 4)
    before = _count(db, AuditEntry)
    result = _cli(database_url, keyring_path, "retention", "run", "--dry-run")
    assert result.exit_code == 0, result.output
    assert old.reference in result.output and recent.reference not in result.output
    assert NAME not in result.output and "1 case(s) would be deleted" in result.output
    assert _count(db, Case) == 2 and _count(db, AuditEntry) == before
    # Planning ahead: in two years the recent one is due too.
    ahead = (datetime.now(UTC) + timedelta(days=800)).date().isoformat()
    later = _cli(database_url, keyring_path, "retention", "run", "--dry-run", "--as-of", ahead)
    assert recent.reference in later.output
    refused = _cli(database_url, keyring_path, "retention", "run", "--as-of", ahead, "--yes")
    assert refused.exit_code == 1 and "only be used with --dry-run" in refused.output


def test_run_shreds_the_key_first_then_deletes_every_row_and_audits_each_case(
    north: World, db: Session, database_url: str, keyring_path: Path
) -> None:
    old, recent = _case_with_history(north), _case_with_history(north)
    _age(db, old, 6)
    old_id, old_key, old_ref, recent_id = old.id, old.data_key_id, old.reference, recent.id
    db.expunge_all()  # the deleted rows must not be refreshed through stale objects
    assert _count(db, ReviewDecision) == 2
    result = _cli(database_url, keyring_path, "retention", "run", "--yes")
    assert result.exit_code == 0, result.output
    assert f"{old_ref}  deleted" in result.output
    assert _count(db, Case) == 1 and _count(db, Case, Case.id == recent_id) == 1
    assert _count(db, Assessment, Assessment.case_id == old_id) == 0
    assert _count(db, ReviewDecision) == 1  # the recent case's withdrawal stays
    assert _count(db, DataKey, DataKey.id == old_key) == 0
    destroyed = _entries(db, "crypto:data_key:destroy")
    deleted = _entries(db, "case:case:delete")
    assert [e.object_id for e in destroyed] == [str(old_id)]
    assert [e.object_id for e in deleted] == [str(old_id)]
    assert destroyed[0].seq < deleted[0].seq  # the key went first
    for entry in destroyed + deleted:
        assert old_ref in entry.body and NAME not in entry.body
    summary = _entries(db, "case:retention:run")
    assert len(summary) == 1 and '"deleted":1' in summary[0].body


def test_a_case_with_a_recent_assessment_change_is_kept(
    north: World, db: Session, database_url: str, keyring_path: Path
) -> None:
    case = _case_with_history(north)
    _age(db, case, 6)
    recent = datetime.now(UTC) - timedelta(days=30)
    db.execute(update(Assessment).where(Assessment.case_id == case.id).values(updated_dt=recent))
    db.commit()
    result = _cli(database_url, keyring_path, "retention", "run", "--yes")
    assert result.exit_code == 0 and "No case is due" in result.output
    assert _count(db, Case) == 1


def test_period_comes_from_the_environment(
    north: World, db: Session, database_url: str, keyring_path: Path
) -> None:
    case = _case_with_history(north)
    _age(db, case, 6)
    kept = _cli(database_url, keyring_path, "retention", "run", "--dry-run", years="7")
    assert case.reference not in kept.output and "7 years" in kept.output
    bad = _cli(database_url, keyring_path, "retention", "run", "--dry-run", years="0")
    assert bad.exit_code == 1 and "RISKASSESS_RETENTION_YEARS" in bad.output


def test_a_supervisor_holds_a_case_and_it_is_kept_until_released(
    north: World,
    db: Session,
    database_url: str,
    keyring_path: Path,
    client: FlaskClient,
    login: Callable[[str], None],
) -> None:
    case = _case_with_history(north)
    _age(db, case, 6)
    login("sup.north")
    page_path = f"/cases/{case.id}"
    refused = client.post(
        f"{page_path}/retention/hold",
        data={"csrf_token": csrf(client, page_path), "reason": "other", "note": " "},
    )
    assert refused.status_code == 302
    assert _count(db, RetentionHold) == 0  # "other" needs a note: nothing changed
    held = client.post(
        f"{page_path}/retention/hold",
        data={"csrf_token": csrf(client, page_path), "reason": "research", "note": NOTE},
    )
    assert held.status_code == 302
    assert _count(db, RetentionHold) == 1
    page = client.get(page_path).get_data(as_text=True)
    assert NOTE in page and 'id="gallring"' in page
    stored = db.get(RetentionHold, case.id)
    assert stored is not None and stored.note is not None and NOTE.encode() not in stored.note
    [entry] = _entries(db, "case:retention:hold")
    assert '"reason":"research"' in entry.body and NOTE not in entry.body

    dry = _cli(database_url, keyring_path, "retention", "run", "--dry-run")
    assert f"{case.reference}  on hold (research), kept" in dry.output
    run = _cli(database_url, keyring_path, "retention", "run", "--yes")
    assert run.exit_code == 0 and _count(db, Case) == 1

    released = client.post(
        f"{page_path}/retention/release", data={"csrf_token": csrf(client, page_path)}
    )
    assert released.status_code == 302 and _count(db, RetentionHold) == 0
    assert len(_entries(db, "case:retention:release")) == 1
    run = _cli(database_url, keyring_path, "retention", "run", "--yes")
    assert run.exit_code == 0 and _count(db, Case) == 0


def test_a_run_stopped_after_shredding_leaves_an_unreadable_case_the_next_run_deletes(
    north: World,
    db: Session,
    database_url: str,
    keyring_path: Path,
    client: FlaskClient,
    login: Callable[[str], None],
) -> None:
    case = _case_with_history(north)
    _age(db, case, 6)
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            retention.destroy_case_key(
                session, north.vault, TEST_ACTOR, case.id, 5, retention.today_local()
            )
    finally:
        engine.dispose()
    login("cw.north")
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 500 and NAME not in page.get_data(as_text=True)
    [failure] = _entries(db, "crypto:data_key:unwrap")
    assert failure.outcome == "failure" and '"reason":"destroyed"' in failure.body

    dry = _cli(database_url, keyring_path, "retention", "run", "--dry-run")
    assert f"{case.reference}" in dry.output and "data key destroyed, rows left" in dry.output
    run = _cli(database_url, keyring_path, "retention", "run", "--yes")
    assert run.exit_code == 0, run.output
    assert _count(db, Case) == 0 and len(_entries(db, "case:case:delete")) == 1


def test_without_yes_the_run_asks_first(
    north: World, db: Session, database_url: str, keyring_path: Path
) -> None:
    case = _case_with_history(north)
    _age(db, case, 6)
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_MODE": "production",
    }
    answered_no = CliRunner().invoke(main, ["retention", "run"], env=env, input="n\n")
    assert answered_no.exit_code == 1 and _count(db, Case) == 1


def _child_born(world: World, owner_name: str, born: date, *, coordination: bool = False) -> Case:
    """A case of a child born on `born`, with a personnummer or a samordningsnummer."""
    owner = world.session.scalar(select(User).where(User.username == owner_name))
    assert owner is not None
    day = born.day + (60 if coordination else 0)
    body = f"{born:%y%m}{day:02d}238"
    normalized, real = normalize_personnummer(
        f"{born:%Y%m}{day:02d}-238{luhn.calc_check_digit(body)}"
    )
    assert real == born
    case = cases.create_case(
        world.session, world.vault, owner, cases.Identity(NAME, normalized, born, "female")
    )
    world.session.commit()
    return case


def test_the_law_keeps_children_born_on_day_5_15_or_25_without_a_hold(
    north: World, db: Session, database_url: str, keyring_path: Path
) -> None:
    fifth = _child_born(north, "cw.north", date(2010, 3, 5))
    coordinated = _child_born(north, "cw.north", date(2010, 4, 25), coordination=True)
    ordinary = _child_born(north, "cw.north", date(2010, 5, 24))
    for case in (fifth, coordinated, ordinary):
        _age(db, case, 6)
    kept = {fifth.reference, coordinated.reference}
    dry = _cli(database_url, keyring_path, "retention", "run", "--dry-run")
    for reference in kept:
        assert f"{reference}  kept by law (born on day 5, 15 or 25)" in dry.output
    assert "1 case(s) would be deleted, 0 on hold, 2 kept by law" in dry.output
    run = _cli(database_url, keyring_path, "retention", "run", "--yes")
    assert run.exit_code == 0, run.output
    assert {c.reference for c in db.scalars(select(Case))} == kept
    assert _count(db, RetentionHold) == 0  # nobody had to act
    [summary] = _entries(db, "case:retention:run")
    assert '"deleted":1' in summary.body and '"exempt":2' in summary.body
    assert NAME not in run.output and NAME not in summary.body


def test_the_shredding_step_checks_the_exemption_again(
    north: World, db: Session, database_url: str
) -> None:
    case = _child_born(north, "cw.north", date(2009, 7, 15))
    _age(db, case, 6)
    engine = make_engine(database_url)
    try:
        with (
            pytest.raises(retention.RetentionSkipped, match="born on day 5, 15 or 25"),
            transaction(make_session_factory(engine)) as session,
        ):
            retention.destroy_case_key(
                session, north.vault, TEST_ACTOR, case.id, 5, retention.today_local()
            )
    finally:
        engine.dispose()
    db.rollback()
    key = db.get(DataKey, case.data_key_id)
    assert key is not None and key.destroyed_dt is None


def test_the_exemption_is_shown_on_the_case_and_for_a_protected_identity_only_to_those_allowed(
    north: World, db: Session, client: FlaskClient, login: Callable[[str], None]
) -> None:
    north.user("cw.north2", "caseworker", north.session.scalar(select(Unit)))
    case = _child_born(north, "cw.north", date(2011, 8, 25))
    ordinary = _child_born(north, "cw.north", date(2011, 8, 26))
    marker = 'id="research-exemption"'
    login("cw.north2")
    assert marker in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert marker not in client.get(f"/cases/{ordinary.id}").get_data(as_text=True)
    supervisor = db.scalar(select(User).where(User.username == "sup.north"))
    assert supervisor is not None
    cases.set_protection(db, supervisor, case, True)
    db.commit()
    # Protected: the exemption narrows down the birth date, so only those who may see the
    # identity see it (without revealing the identity itself).
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert marker not in page and NAME not in page
    for username in ("cw.north", "sup.north"):
        client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
        login(username)
        page = client.get(f"/cases/{case.id}").get_data(as_text=True)
        assert marker in page and NAME not in page
