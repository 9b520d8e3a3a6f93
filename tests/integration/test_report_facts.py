"""The facts follow-up statistics count: written at approval, replaced by a correction, deleted
at gallring, rebuilt for assessments approved before they existed; and the units a manager
compares."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment
from riskassess.cases import retention
from riskassess.cases.models import Case
from riskassess.cli import main
from riskassess.core.audit import AuditEntry, entry_fields
from riskassess.core.db import utcnow
from riskassess.core.installation import InstallationSetting
from riskassess.core.keys import DataKey, Vault
from riskassess.core.localtime import LOCAL_TIME, local_day, local_today
from riskassess.reports import facts
from riskassess.reports.measures import Period
from riskassess.reports.models import AssessmentFact, FactBatch
from riskassess.reports.services import make_report, rebuild_facts
from tests.conftest import PASSWORD, TEST_ACTOR, World
from tests.integration.casework import with_record

SAVRY = ("savry-style", "1.0")
HIGH = ("H1", "H2", "H3")
PRESENT = ("S1", "S3")
TODAY = local_today()  # the municipality's day: periods are whole local days


def _content(world: World, level: str, high: tuple[str, ...]) -> Content:
    """Every risk item low but `high`; protective items present as in PRESENT."""
    instrument = world.instrument_of_key(*SAVRY)
    items = {}
    for item in instrument.items:
        if item.scale.kind == "risk":
            rating = "high" if item.code in high else "low"
        else:
            rating = "present" if item.code in PRESENT else "absent"
        items[item.code] = ItemRating(rating, "Fiktiv motivering")
    content = with_record(Content(items, level, "Fiktiv sammanfattning"))
    content.rule_reasons = {rule.id: "Fiktivt skäl" for rule in instrument.rules}
    return content


def _approve(world: World, owner: User, boss: User, case: Case, assessment: Assessment) -> None:
    instrument = world.instrument_of(assessment)
    session, vault = world.session, world.vault
    assessments.submit_assessment(session, vault, owner, case, assessment, instrument)
    assessments.approve_assessment(
        session, vault, world.passwords, boss, case, assessment, instrument, "", PASSWORD
    )
    session.commit()


def _rated(
    world: World, owner: User, boss: User, case: Case, level: str, high: tuple[str, ...]
) -> Assessment:
    instrument = world.instrument_of_key(*SAVRY)
    session, vault = world.session, world.vault
    assessment = assessments.start_assessment(session, vault, owner, case, instrument)
    content = _content(world, level, high)
    assessments.save_assessment(session, vault, owner, case, assessment, content, 1)
    _approve(world, owner, boss, case, assessment)
    return assessment


def _facts(world: World) -> dict[uuid.UUID, facts.Fact]:
    """Every fact, opened from its batch, by the assessment it counts; checks on the way that
    the batches hold exactly the facts of the assessments counted."""
    world.session.rollback()
    counted = {row.assessment_id: row for row in world.session.scalars(select(AssessmentFact))}
    found = {}
    for batch in world.session.scalars(select(FactBatch)):
        value = world.vault.open_json(
            world.session, batch.key_id, batch.sealed, "fact_batch", "sealed", batch.id
        )
        assert value["facts"], "an empty batch is deleted"
        for assessment_id, entry in value["facts"].items():
            row = counted[uuid.UUID(assessment_id)]
            assert (row.batch_id, row.unit_id) == (batch.id, batch.unit_id)
            assert date.fromordinal(entry[0]) == local_day(row.approved_dt)
            assert batch.month == local_day(row.approved_dt).replace(day=1)
            found[row.assessment_id] = facts.Fact.from_entry(batch.unit_id, entry)
    assert set(found) == set(counted)
    return found


def _forget(world: World, *where: ColumnElement[bool]) -> None:
    """As if these assessments were approved before facts existed."""
    rows = world.session.scalars(select(AssessmentFact).where(*where))
    facts.forget_facts(world.session, world.vault, rows)
    world.session.execute(
        delete(InstallationSetting).where(InstallationSetting.key == facts.FACTS_COMPLETE)
    )


def _team(world: World) -> tuple[User, User, Case]:
    north = world.unit("north")
    owner = world.user("cw.north", "caseworker", north)
    boss = world.user("sup.north", "supervisor", north)
    return owner, boss, world.case(owner, sex="female", age=15)


def test_an_approval_writes_its_fact_sealed_and_a_correction_replaces_it(world: World) -> None:
    owner, boss, case = _team(world)
    first = _rated(world, owner, boss, case, "low", HIGH)
    [fact] = _facts(world).values()
    # Worked out by hand from the content: three items High under a Low judgement is the
    # rule that needs a reason; the girl is 15; started and approved the same day.
    assert fact == facts.Fact(
        unit_id=case.unit_id,
        kind="initial",
        is_corrected=False,
        sex="female",
        age=15,
        level="low",
        top_risk=HIGH,
        protective=PRESENT,
        needed_reason=True,
        child_view="heard",
        days_to_approval=0,
        days_since_previous=None,
        on_time=None,
    )
    [batch] = world.session.scalars(select(FactBatch)).all()
    assert b"female" not in batch.sealed and b"H1" not in batch.sealed

    again = _rated(world, owner, boss, case, "moderate", ("H1",))
    assert again.kind == "reassessment"
    reassessed = _facts(world)[again.id]
    assert (reassessed.kind, reassessed.days_since_previous) == ("reassessment", 0)
    # The test installation reassesses every six months: approved today, well before then.
    assert world.instrument_of(again).reassessment_months == 6 and reassessed.on_time is True

    correction = assessments.start_correction(
        world.session, world.vault, owner, case, again, "Fiktiv felskrivning"
    )
    content = _content(world, "moderate", ("H1", "K1"))
    assessments.save_assessment(
        world.session, world.vault, owner, case, correction, content, correction.lock_version
    )
    _approve(world, owner, boss, case, correction)
    found = _facts(world)
    assert set(found) == {first.id, correction.id}  # the corrected version's fact is gone
    corrected = found[correction.id]
    assert corrected.is_corrected and corrected.kind == "reassessment"
    assert corrected.top_risk == ("H1", "K1") and corrected.days_since_previous == 0
    rows = {row.assessment_id: row for row in world.session.scalars(select(AssessmentFact))}
    assert rows[correction.id].approved_dt == again.decided_dt  # counted when first in force


def test_gallring_deletes_the_facts_with_the_case_key(world: World) -> None:
    owner, boss, case = _team(world)
    _rated(world, owner, boss, case, "low", HIGH)
    retention.destroy_case_key(world.session, world.vault, TEST_ACTOR, case.id, 5, date(2100, 1, 1))
    world.session.commit()
    assert world.session.scalars(select(AssessmentFact)).all() == []
    assert world.session.scalars(select(FactBatch)).all() == []


def test_gallring_keeps_the_case_when_the_statistics_cannot_be_opened(world: World) -> None:
    owner, boss, case = _team(world)
    _rated(world, owner, boss, case, "low", HIGH)
    [batch] = world.session.scalars(select(FactBatch)).all()
    key = world.session.get(DataKey, batch.key_id)
    assert key is not None
    key.destroyed_dt = utcnow()  # as if the statistics key could not be unwrapped
    world.session.commit()
    with pytest.raises(retention.RetentionSkipped, match="follow-up statistics"):
        retention.destroy_case_key(
            world.session, Vault(world.vault.ring), TEST_ACTOR, case.id, 5, date(2100, 1, 1)
        )
    world.session.rollback()
    case_key = world.session.get(DataKey, case.data_key_id)
    assert case_key is not None and case_key.destroyed_dt is None
    assert len(world.session.scalars(select(AssessmentFact)).all()) == 1


def _approved_on(world: World, assessment: Assessment, day: date) -> None:
    """Move an approval to `day` (noon, local time) and write its fact again from there."""
    assessment.decided_dt = datetime.combine(day, time(12), LOCAL_TIME)
    counted = world.session.scalars(
        select(AssessmentFact).where(AssessmentFact.assessment_id == assessment.id)
    )
    facts.forget_facts(world.session, world.vault, counted)
    rebuild_facts(world.session, world.vault, TEST_ACTOR, world.instrument_of)


def test_a_period_counts_whole_days_out_of_monthly_batches(world: World) -> None:
    """Five approvals: two in one unit and month share a batch; a period from the 15th to the
    next month's 1st counts the days inside it and nothing of the days beside them."""
    owner, boss, _case = _team(world)
    days = [date(2025, 3, 14), date(2025, 3, 15), date(2025, 3, 31), date(2025, 4, 1),
            date(2025, 4, 2)]  # fmt: skip
    for day in days:
        approved = _rated(world, owner, boss, world.case(owner, sex="male"), "low", ())
        _approved_on(world, approved, day)
    world.session.commit()
    batches = world.session.scalars(select(FactBatch).order_by(FactBatch.month)).all()
    assert [b.month for b in batches] == [date(2025, 3, 1), date(2025, 4, 1)]
    found = _facts(world)  # checks every fact sits in its own month's batch
    assert len(found) == 5
    unit = [owner.unit_id]

    def counted(first: date, last: date) -> int:
        instrument = SAVRY[0]
        return len(facts.open_facts(world.session, world.vault, instrument, first, last, unit))

    assert counted(date(2025, 3, 15), date(2025, 4, 1)) == 3
    assert counted(date(2025, 3, 1), date(2025, 3, 31)) == 3
    assert counted(date(2025, 4, 2), date(2025, 12, 31)) == 1
    assert counted(date(2025, 1, 1), date(2025, 3, 13)) == 0


def test_rebuild_writes_the_missing_facts_once_and_is_audited(
    world: World, db: Session, database_url: str, keyring_path: Path, tmp_path: Path
) -> None:
    owner, boss, case = _team(world)
    _rated(world, owner, boss, case, "low", HIGH)
    _rated(world, owner, boss, case, "high", HIGH)
    before = _facts(world)
    _forget(world)
    world.session.commit()
    assert world.session.scalars(select(FactBatch)).all() == []
    assert len(facts.missing_facts(world.session)) == 2
    env = {
        "RISKASSESS_DATABASE_URL": database_url,
        "RISKASSESS_KEYRING": str(keyring_path),
        "RISKASSESS_INSTANCE_PATH": str(tmp_path),
    }
    result = CliRunner().invoke(main, ["reports", "rebuild-facts"], env=env)
    assert result.exit_code == 0, result.output
    assert "Wrote 2 facts" in result.output
    assert _facts(world) == before
    again = CliRunner().invoke(main, ["reports", "rebuild-facts"], env=env)
    assert "Wrote 0 facts" in again.output
    world.session.rollback()
    assert facts.are_complete(world.session) and facts.missing_facts(world.session) == []
    rebuilds = select(AuditEntry).where(AuditEntry.action == "report:facts:rebuild")
    entries = db.scalars(rebuilds.order_by(AuditEntry.seq))
    assert [entry_fields(e.body)["details"] for e in entries] == [
        {"written": 2, "unreadable": 0},
        {"written": 0, "unreadable": 0},
    ]


def test_a_report_counts_only_the_units_chosen_and_says_what_is_missing(world: World) -> None:
    owner, boss, _case = _team(world)
    south = world.unit("south")
    owner_s = world.user("cw.south", "caseworker", south)
    boss_s = world.user("sup.south", "supervisor", south)
    chief = world.user("chef", "manager", None)
    for _ in range(5):
        _rated(world, owner, boss, world.case(owner, sex="male"), "low", ())
    for _ in range(6):
        _rated(world, owner_s, boss_s, world.case(owner_s, sex="male"), "high", HIGH)
    instrument = world.instrument_of_key(*SAVRY)
    period = Period(TODAY - timedelta(days=1), TODAY)
    both = make_report(world.session, world.vault, chief, instrument, period)
    assert both.assessed == 11 and both.missing == 0
    one = make_report(world.session, world.vault, chief, instrument, period, unit_ids=[south.id])
    assert [u.name for u in one.units] == [south.name] and one.assessed == 6
    # As if south's were approved before this version: the facts are not complete.
    _forget(world, AssessmentFact.unit_id == south.id)
    short = make_report(world.session, world.vault, chief, instrument, period)
    assert short.assessed == 5 and short.missing == 6
    facts.mark_complete(world.session)  # what rebuild-facts does when done
    assert make_report(world.session, world.vault, chief, instrument, period).missing == 0


def test_a_manager_picks_units_and_a_supervisor_cannot_pick_another(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    owner, boss, _case = _team(world)
    south = world.unit("south")
    world.user("sup.south", "supervisor", south)
    world.user("chef", "manager", None)
    for _ in range(5):
        _rated(world, owner, boss, world.case(owner, sex="male"), "low", ())
    north_id = world.session.scalars(select(User.unit_id).where(User.username == "sup.north")).one()
    period = f"date_from={TODAY - timedelta(days=1)}&date_to={TODAY}&instrument=savry-style@1.0"
    login("chef")
    page = client.get(f"/reports?{period}&units={north_id}").get_data(as_text=True)
    assert "Testenhet north" in page and "<caption>" in page and "Testenhet south" in page
    client.post("/logout", data={"csrf_token": _token(client)})
    login("sup.south")
    refused = client.get(f"/reports?{period}&units={north_id}").get_data(as_text=True)
    assert "<caption>" not in refused and "Testenhet north" not in refused
    # Its unit picker is hidden, so the page says in words why there are no numbers.
    assert "Du kan bara se din egen enhets siffror." in refused


def _token(client: FlaskClient) -> str:
    from tests.conftest import csrf

    return csrf(client, "/reports")


def test_a_correction_after_a_move_is_counted_where_the_child_was_judged(world: World) -> None:
    owner, boss, case = _team(world)
    first = _rated(world, owner, boss, case, "low", HIGH)
    north_id = case.unit_id
    south = world.unit("south")
    owner_s = world.user("cw.south", "caseworker", south)
    boss_s = world.user("sup.south", "supervisor", south)
    world.session.execute(update(Case).where(Case.id == case.id).values(unit_id=south.id))
    world.session.commit()
    correction = assessments.start_correction(
        world.session, world.vault, owner_s, case, first, "Fiktiv felskrivning"
    )
    content = _content(world, "moderate", HIGH)
    assessments.save_assessment(
        world.session, world.vault, owner_s, case, correction, content, correction.lock_version
    )
    _approve(world, owner_s, boss_s, case, correction)
    [(assessment_id, fact)] = _facts(world).items()
    assert assessment_id == correction.id and fact.level == "moderate"
    assert fact.unit_id == north_id != south.id


def test_a_report_leaves_the_garbage_collector_as_it_found_it(world: World) -> None:
    """The report pauses Python's cyclic collector while it counts (services.py), and must
    hand it back running, or not, as it was."""
    owner, boss, _case = _team(world)
    chief = world.user("chef", "manager", None)
    for _ in range(5):
        _rated(world, owner, boss, world.case(owner, sex="male"), "low", ())
    instrument = world.instrument_of_key(*SAVRY)
    period = Period(TODAY - timedelta(days=1), TODAY)
    assert gc.isenabled()
    assert make_report(world.session, world.vault, chief, instrument, period).assessed == 5
    assert gc.isenabled()
    gc.disable()
    try:
        make_report(world.session, world.vault, chief, instrument, period)
        assert not gc.isenabled()
    finally:
        gc.enable()
