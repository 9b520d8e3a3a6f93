"""What follow-up statistics count, written at approval and kept in sealed monthly batches.

A report over 100,000 assessments cannot open 100,000 case keys and contents on every request.
So each approval also writes a fact. What SQL must filter on stays in plaintext, and is
plaintext in the assessment row already: the unit responsible when it was approved, the
instrument, the day of its first approval and its kind (`AssessmentFact`, one row per
assessment counted). Everything else (sex, age, the judgement, which items were rated at the top
of their scale, the child's view and the times) goes into the batch of its instrument, unit and
month: one JSON value sealed under a single installation-wide statistics data key. A year's
report opens some hundred batches with one key, not one value per assessment.

An assessment is counted once, as its latest approved version: a correction's fact takes the
place of the fact of the version it corrects, and keeps that version's unit, day and times
(the day it first came into force), with the corrected content. Gallring takes a case's facts
out of their batches when it destroys the case's key (`cases.retention`).

A batch is changed under a row lock (PostgreSQL; SQLite's writers are serialized already),
before the transaction's audit entries take the audit lock at its end, so two approvals in one
unit and month wait for each other and neither loses the other's fact.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskassess.assessments.bbic import Voices
from riskassess.assessments.content import Content, applicable_rules
from riskassess.assessments.followup import reassessment_due
from riskassess.assessments.models import Assessment, AssessmentKind
from riskassess.cases.models import Case
from riskassess.cases.services import Identity, age_on
from riskassess.core.installation import InstallationSetting
from riskassess.core.keys import Vault
from riskassess.core.localtime import local_day
from riskassess.instruments.definition import Instrument, Item
from riskassess.reports.models import AssessmentFact, FactBatch

STATISTICS_KEY = "statistics_key"  # installation_setting: the id of the statistics data key
FACTS_COMPLETE = "facts_complete"  # installation_setting: no approval lacks its fact
# Whether the child's own view was recorded: heard, could not be obtained (with the reason),
# or neither (assessments approved before the case record asked for it).
CHILD_VIEW = ("heard", "not_heard", "not_recorded")
# Approved: still in force, or replaced since by a later approval.
COUNTED_STATES = ("approved", "superseded")


class Fact(NamedTuple):
    """An opened fact: what the statistics count, and nothing that names anyone. A tuple,
    since a report builds 100,000 of them."""

    unit_id: uuid.UUID
    kind: str
    is_corrected: bool
    sex: str
    age: int  # whole years on the day of the first approval
    level: str  # the overall judgement's code
    top_risk: tuple[str, ...]  # risk items rated at the top of their scale
    protective: tuple[str, ...]  # protective items rated present
    needed_reason: bool  # a consistency rule applied, so the judgement needed a reason
    child_view: str  # one of CHILD_VIEW
    days_to_approval: int  # from the start of the first version to its approval
    days_since_previous: int | None  # a reassessment: since the approval it followed
    on_time: bool | None  # a reassessment with a due date: approved by that date

    def entry(self, day: date) -> list[object]:
        """The fact as its batch keeps it: the day of its first approval (as an ordinal) and
        every field but the unit, which is the batch's."""
        return [day.toordinal(), *self[1:6], list(self.top_risk), list(self.protective), *self[8:]]

    @classmethod
    def from_entry(cls, unit_id: uuid.UUID, entry: list[Any]) -> Fact:
        (_, kind, corrected, sex, age, level, top, prot, rule, view, days, gap, due) = entry
        return cls(
            unit_id,
            kind,
            corrected,
            sex,
            age,
            level,
            tuple(top),
            tuple(prot),
            rule,
            view,
            days,
            gap,
            due,
        )


def is_top_risk(item: Item, code: str | None) -> bool:
    """Rated at the top of a risk scale: High on SAVRY's, present (2) on EARL's."""
    level = item.scale.level(code) if code else None
    top = item.scale.max_weight
    return level is not None and top > 0 and (level.weight or 0) == top


def is_present(item: Item, code: str | None) -> bool:
    """A protective item rated present: a protective scale lists "present" first."""
    return item.scale.kind == "protective" and code == item.scale.levels[0].code


def child_view(voices: Voices) -> str:
    if voices.child.is_recorded:
        return "heard"
    return "not_heard" if voices.child_not_heard.strip() else "not_recorded"


def _first_version(session: Session, assessment: Assessment) -> Assessment:
    """The version a chain of corrections started from: its approval is when the assessment
    came into force."""
    first = assessment
    while first.kind == AssessmentKind.CORRECTION and first.previous_id is not None:
        earlier = session.get(Assessment, first.previous_id)
        if earlier is None:
            break
        first = earlier
    return first


def build_fact(
    session: Session,
    case: Case,
    assessment: Assessment,
    instrument: Instrument,
    content: Content,
    identity: Identity,
) -> Fact:
    first = _first_version(session, assessment)
    if first.decided_dt is None:
        raise ValueError("only an approved assessment has a fact")
    approved = local_day(first.decided_dt)
    gap = on_time = None
    previous = session.get(Assessment, first.previous_id) if first.previous_id else None
    if first.kind == AssessmentKind.REASSESSMENT and previous and previous.decided_dt:
        gap = (approved - local_day(previous.decided_dt)).days
        due = reassessment_due(instrument, previous.decided_dt)
        on_time = None if due is None else approved <= due
    return Fact(
        unit_id=case.unit_id,
        kind=first.kind,
        is_corrected=first is not assessment,
        sex=identity.sex,
        age=age_on(identity.birth_date, approved),
        level=content.judgement_level or "",
        top_risk=tuple(
            i.code for i in instrument.risk_items if is_top_risk(i, content.rating(i.code).rating)
        ),
        protective=tuple(
            i.code for i in instrument.items if is_present(i, content.rating(i.code).rating)
        ),
        needed_reason=bool(applicable_rules(instrument, content)),
        child_view=child_view(content.voices),
        days_to_approval=(approved - local_day(first.created_dt)).days,
        days_since_previous=gap,
        on_time=on_time,
    )


def statistics_key(session: Session, vault: Vault) -> uuid.UUID:
    """The installation's statistics data key, made at the first approval. Two servers making
    it at once: one insert wins, the other's savepoint is undone and it uses the winner's."""
    query = select(InstallationSetting.value).where(InstallationSetting.key == STATISTICS_KEY)
    stored = session.scalar(query)
    if stored is not None:
        return uuid.UUID(stored)
    try:
        with session.begin_nested():
            key = vault.create_data_key(session)
            session.add(InstallationSetting(key=STATISTICS_KEY, value=str(key.id)))
            session.flush()
            return key.id
    except IntegrityError:
        return uuid.UUID(session.scalars(query).one())


def _month(day: date) -> date:
    return day.replace(day=1)


class Batches:
    """The fact batches one transaction changes, each locked and opened once and sealed again
    once, at `save`: an approval changes one, a rebuild or a demo seed many."""

    def __init__(self, session: Session, vault: Vault) -> None:
        self.session = session
        self.vault = vault
        self._opened: dict[uuid.UUID, tuple[FactBatch, dict[str, list[Any]]]] = {}

    def _entries(self, batch: FactBatch) -> dict[str, list[Any]]:
        if batch.id not in self._opened:
            value = self.vault.open_json(
                self.session, batch.key_id, batch.sealed, "fact_batch", "sealed", batch.id
            )
            self._opened[batch.id] = (batch, value["facts"])
        return self._opened[batch.id][1]

    def _locked(self, batch_id: uuid.UUID) -> FactBatch:
        batch = self.session.get(FactBatch, batch_id, with_for_update=True)
        assert batch is not None  # a foreign key guarantees it
        return batch

    def _batch_for(self, instrument_id: str, unit_id: uuid.UUID, month: date) -> FactBatch:
        """The batch of the instrument, unit and month, locked; made if there is none. Two
        servers making it at once: one insert wins, the other's savepoint is undone and it
        waits for the winner's."""
        query = (
            select(FactBatch)
            .where(
                FactBatch.instrument_id == instrument_id,
                FactBatch.unit_id == unit_id,
                FactBatch.month == month,
            )
            .with_for_update()
        )
        batch = self.session.scalars(query).one_or_none()
        if batch is not None:
            return batch
        batch = FactBatch(
            id=uuid.uuid4(),
            instrument_id=instrument_id,
            unit_id=unit_id,
            month=month,
            key_id=statistics_key(self.session, self.vault),
        )
        batch.sealed = self._seal(batch, {})  # its context names its id
        try:
            with self.session.begin_nested():
                self.session.add(batch)
                self.session.flush()
        except IntegrityError:
            return self.session.scalars(query).one()
        return batch

    def _seal(self, batch: FactBatch, entries: dict[str, list[Any]]) -> bytes:
        return self.vault.seal_json(
            self.session, batch.key_id, {"facts": entries}, "fact_batch", "sealed", batch.id
        )

    def add(self, assessment: Assessment, fact: Fact, first_approved_dt: datetime) -> None:
        """Count the approved assessment: its row, and its fact in its month's batch."""
        day = local_day(first_approved_dt)
        batch = self._batch_for(assessment.instrument_id, fact.unit_id, _month(day))
        self._entries(batch)[str(assessment.id)] = fact.entry(day)
        self.session.add(
            AssessmentFact(
                assessment_id=assessment.id,
                case_id=assessment.case_id,
                unit_id=fact.unit_id,
                instrument_id=assessment.instrument_id,
                instrument_version=assessment.instrument_version,
                approved_dt=first_approved_dt,
                kind=fact.kind,
                is_corrected=fact.is_corrected,
                batch_id=batch.id,
            )
        )

    def remove(self, row: AssessmentFact) -> None:
        """Stop counting an assessment: its fact out of its batch, and its row."""
        self._entries(self._locked(row.batch_id)).pop(str(row.assessment_id), None)
        self.session.delete(row)

    def save(self) -> None:
        """Seal every changed batch again; delete those left empty (after their rows)."""
        self.session.flush()
        for batch, entries in self._opened.values():
            if entries:
                batch.sealed = self._seal(batch, entries)
            else:
                self.session.delete(batch)
        self.session.flush()
        self._opened.clear()


def record_fact(
    session: Session,
    vault: Vault,
    case: Case,
    assessment: Assessment,
    instrument: Instrument,
    content: Content,
    identity: Identity,
    batches: Batches | None = None,
) -> None:
    """Count the approved assessment, in place of the version it corrects (keeping the unit
    that version was counted in, should the case have moved since). With `batches`, the
    caller saves them; without, they are saved here."""
    fact = build_fact(session, case, assessment, instrument, content, identity)
    first = _first_version(session, assessment)
    changed = batches or Batches(session, vault)
    if assessment.previous_id is not None and assessment.kind == AssessmentKind.CORRECTION:
        replaced = session.get(AssessmentFact, assessment.previous_id)
        if replaced is not None:
            fact = fact._replace(unit_id=replaced.unit_id)
            changed.remove(replaced)
            session.flush()
    assert first.decided_dt is not None  # checked by build_fact
    changed.add(assessment, fact, first.decided_dt)
    if batches is None:
        changed.save()


def forget_facts(session: Session, vault: Vault, rows: Iterable[AssessmentFact]) -> int:
    """Stop counting these assessments (gallring of their case; a demo seed moving its dates).
    Returns how many."""
    batches = Batches(session, vault)
    count = 0
    for row in rows:
        batches.remove(row)
        count += 1
    batches.save()
    return count


def open_facts(
    session: Session,
    vault: Vault,
    instrument_id: str,
    first: date,
    last: date,
    unit_ids: list[uuid.UUID],
) -> list[Fact]:
    """The facts of assessments first approved from `first` to `last` (whole local days) in
    the units: the batches of those months opened with the statistics key unwrapped once, and
    the days at either end picked out of theirs."""
    rows = session.execute(
        select(FactBatch.id, FactBatch.unit_id, FactBatch.key_id, FactBatch.sealed)
        .where(
            FactBatch.instrument_id == instrument_id,
            FactBatch.month >= _month(first),
            FactBatch.month <= _month(last),
            FactBatch.unit_id.in_(unit_ids),
        )
        .order_by(FactBatch.month, FactBatch.unit_id)
    ).all()
    low, high = first.toordinal(), last.toordinal()
    openers: dict[uuid.UUID, Callable[[bytes, object], Any]] = {}
    opened: list[Fact] = []
    for batch_id, unit_id, key_id, sealed in rows:
        if key_id not in openers:  # the statistics key: one, or a few after a race
            openers[key_id] = vault.json_opener(session, key_id, "fact_batch", "sealed", batch_id)
        entries = openers[key_id](sealed, batch_id)["facts"].values()
        opened.extend(Fact.from_entry(unit_id, e) for e in entries if low <= e[0] <= high)
    return opened


def _without_fact() -> list[ColumnElement[bool]]:
    """Approved, without a fact, and not replaced by an approved correction (whose fact
    stands for it). The corrected ids are one uncorrelated subquery: nothing indexes
    `previous_id`, and a correlated one would search the table once per assessment."""
    corrected = select(Assessment.previous_id).where(
        Assessment.kind == AssessmentKind.CORRECTION,
        Assessment.state.in_(COUNTED_STATES),
        Assessment.previous_id.is_not(None),
    )
    has_fact = exists().where(AssessmentFact.assessment_id == Assessment.id)
    return [Assessment.state.in_(COUNTED_STATES), ~has_fact, Assessment.id.not_in(corrected)]


def are_complete(session: Session) -> bool:
    """Whether every approval has its fact: set where the database had no approval when the
    facts began (migration 0019), or once `rebuild-facts` has run."""
    query = select(InstallationSetting.value).where(InstallationSetting.key == FACTS_COMPLETE)
    return session.scalar(query) is not None


def mark_complete(session: Session) -> None:
    if not are_complete(session):
        session.add(InstallationSetting(key=FACTS_COMPLETE, value="1"))
        session.flush()


def missing_facts(session: Session) -> list[Assessment]:
    """Approved assessments without a fact (approved before facts were written), oldest
    first."""
    query = select(Assessment).where(*_without_fact())
    return list(session.scalars(query.order_by(Assessment.decided_dt, Assessment.id)))


def count_missing(
    session: Session, instrument_id: str, start: datetime, end: datetime, unit_ids: list[uuid.UUID]
) -> int:
    """Approved in [start, end) in the units (where the cases are now) but without a fact: the
    report tells how many it could not count until `riskassess reports rebuild-facts` runs.
    None can be once the facts are complete, and then nothing is read."""
    if are_complete(session):
        return 0
    query = (
        select(func.count())
        .select_from(Assessment)
        .join(Case, Case.id == Assessment.case_id)
        .where(
            Assessment.instrument_id == instrument_id,
            Assessment.decided_dt >= start,
            Assessment.decided_dt < end,
            Case.unit_id.in_(unit_ids),
            *_without_fact(),
        )
    )
    return session.scalar(query) or 0
