"""One fact row per approved assessment: what follow-up statistics count, written at approval.

A report over 100,000 assessments cannot open 100,000 case keys and contents on every request,
so each approval also writes a small fact. What SQL must filter on stays in plaintext, and is
plaintext in the assessment row already: the unit responsible when it was approved, the
instrument, the day of its first approval and its kind. Everything else (sex, age, the
judgement, which items were rated at the top of their scale, the child's view and the times)
is sealed as one small JSON value under a single installation-wide statistics data key, so a
report unwraps one key and opens every fact with it.

An assessment is counted once, as its latest approved version: a correction's fact takes the
place of the fact of the version it corrects, and keeps that version's unit, day and times
(the day it first came into force), with the corrected content. Gallring deletes a case's facts
when it destroys the case's key (`cases.retention`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskassess.assessments.bbic import Voices
from riskassess.assessments.content import Content, applicable_rules
from riskassess.assessments.followup import local_day, reassessment_due
from riskassess.assessments.models import Assessment, AssessmentKind
from riskassess.cases.models import Case
from riskassess.cases.services import Identity, age_on
from riskassess.core.installation import InstallationSetting
from riskassess.core.keys import Vault
from riskassess.instruments.definition import Instrument, Item
from riskassess.reports.models import AssessmentFact

STATISTICS_KEY = "statistics_key"  # installation_setting: the id of the statistics data key
FACTS_COMPLETE = "facts_complete"  # installation_setting: no approval lacks its fact
# Whether the child's own view was recorded: heard, could not be obtained (with the reason),
# or neither (assessments approved before the case record asked for it).
CHILD_VIEW = ("heard", "not_heard", "not_recorded")
# Approved: still in force, or replaced since by a later approval.
COUNTED_STATES = ("approved", "superseded")


@dataclass(frozen=True)
class Fact:
    """An opened fact: what the statistics count, and nothing that names anyone."""

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

    @classmethod
    def opened(cls, unit_id: uuid.UUID, kind: str, is_corrected: bool, raw: dict[str, Any]) -> Fact:
        """The fact from its plaintext columns and its opened sealed value."""
        return cls(
            unit_id=unit_id,
            kind=kind,
            is_corrected=is_corrected,
            sex=raw["sex"],
            age=raw["age"],
            level=raw["level"],
            top_risk=tuple(raw["top"]),
            protective=tuple(raw["prot"]),
            needed_reason=raw["rule"],
            child_view=raw["view"],
            days_to_approval=raw["days"],
            days_since_previous=raw["gap"],
            on_time=raw["due"],
        )

    def sealed_json(self) -> dict[str, object]:
        return {
            "sex": self.sex,
            "age": self.age,
            "level": self.level,
            "top": list(self.top_risk),
            "prot": list(self.protective),
            "rule": self.needed_reason,
            "view": self.child_view,
            "days": self.days_to_approval,
            "gap": self.days_since_previous,
            "due": self.on_time,
        }


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


def record_fact(
    session: Session,
    vault: Vault,
    case: Case,
    assessment: Assessment,
    instrument: Instrument,
    content: Content,
    identity: Identity,
) -> None:
    """Write the approved assessment's fact, in place of the fact of the version it corrects
    (keeping the unit that version was counted in, should the case have moved since)."""
    fact = build_fact(session, case, assessment, instrument, content, identity)
    first = _first_version(session, assessment)
    if assessment.previous_id is not None and assessment.kind == AssessmentKind.CORRECTION:
        replaced = session.get(AssessmentFact, assessment.previous_id)
        if replaced is not None:
            fact = replace(fact, unit_id=replaced.unit_id)
            session.delete(replaced)
            session.flush()
    key_id = statistics_key(session, vault)
    assert first.decided_dt is not None  # checked by build_fact
    session.add(
        AssessmentFact(
            assessment_id=assessment.id,
            case_id=case.id,
            unit_id=fact.unit_id,
            instrument_id=assessment.instrument_id,
            instrument_version=assessment.instrument_version,
            approved_dt=first.decided_dt,
            kind=fact.kind,
            is_corrected=fact.is_corrected,
            key_id=key_id,
            sealed=vault.seal_json(
                session, key_id, fact.sealed_json(), "assessment_fact", "sealed", assessment.id
            ),
        )
    )


def _id_text(stored: object) -> str:
    """An id read as text, written as `str(uuid.UUID)` writes it, which is how a sealed
    value's context names its row: SQLite keeps the 32 hex digits SQLAlchemy writes,
    PostgreSQL's uuid as text is that form already. Cutting the hex digits is a fraction of
    parsing them into a UUID, 100,000 times."""
    if isinstance(stored, str) and len(stored) == 32:
        digits = stored.lower()
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    if isinstance(stored, str) and len(stored) == 36:
        return stored.lower()
    return str(stored if isinstance(stored, uuid.UUID) else uuid.UUID(str(stored)))


class _Ids(dict[object, uuid.UUID]):
    """Stored ids as UUIDs, each parsed once: a report's facts name a handful of units and
    one statistics key."""

    def __missing__(self, stored: object) -> uuid.UUID:
        parsed = self[stored] = stored if isinstance(stored, uuid.UUID) else uuid.UUID(str(stored))
        return parsed


def open_facts(
    session: Session,
    vault: Vault,
    instrument_id: str,
    start: datetime,
    end: datetime,
    unit_ids: list[uuid.UUID],
) -> Iterator[Fact]:
    """The facts of assessments first approved in [start, end) in the units, opened in bulk:
    one query, and the statistics key unwrapped once.

    The ids are read as text, not parsed into a UUID per row (by SQLAlchemy on SQLite, by
    the driver on PostgreSQL): parsed once per distinct unit and key, and the assessment's
    only made into the text the sealed value's context needs."""
    table = AssessmentFact.__table__.c
    rows = session.execute(
        select(
            cast(table.assessment_id, String),
            cast(table.unit_id, String),
            table.kind,
            table.is_corrected,
            cast(table.key_id, String),
            table.sealed,
        ).where(
            table.instrument_id == instrument_id,
            table.approved_dt >= start,
            table.approved_dt < end,
            table.unit_id.in_(unit_ids),
        )
    ).all()
    ids = _Ids()
    openers: dict[str, Callable[[bytes, object], Any]] = {}
    for assessment_id, unit_id, kind, is_corrected, key_id, sealed in rows:
        row = _id_text(assessment_id)
        if key_id not in openers:  # the statistics key: one, or a few after a race
            openers[key_id] = vault.json_opener(
                session, ids[key_id], "assessment_fact", "sealed", row
            )
        yield Fact.opened(ids[unit_id], kind, is_corrected, openers[key_id](sealed, row))


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
