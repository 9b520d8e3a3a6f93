"""Gallring (statutory deletion) of case files.

A case's *last entry* is the latest change of the case itself or of any of its assessments
(review decisions, corrections and withdrawals change their assessment, so they count): the
latest of `case_file.updated_dt`, `case_file.closed_dt` and `assessment.updated_dt`. Reading a
case, searching for it, an emergency access or a retention hold is no entry.

The case may be deleted from its *due date*, `retention_years` after the last entry (Swedish
local date; a last entry on 29 February counts from 1 March), and must be deleted by the
*deadline*, the end of the calendar year after the due date. A supervisor may hold a case with
a reason; held cases are kept.

Deletion runs in two steps, each its own transaction: first the case's data key is destroyed
(crypto-shredding: from that commit on, every sealed value of the case is unreadable), then the
case's rows and everything that refers to them are deleted. A run that stops between the two
leaves an unreadable case, which the next run deletes.

The law exempts from gallring the files of people born on the 5th, 15th or 25th of a month:
they are kept for research (socialtjänstlagen's rule on gallring and its exceptions). Nobody
has to act for that: the run reads the birth day from the child's personnummer (for a
samordningsnummer, the day less 60) under the case's key and keeps those cases. A case whose
identity cannot be read is kept too and reported: deleting is the one step that cannot be undone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, Table, bindparam, delete, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Subquery

from riskassess.accounts.models import User
from riskassess.cases import policy
from riskassess.cases.identity import birth_date_of
from riskassess.cases.models import Case, HoldReason, RetentionHold
from riskassess.core import audit
from riskassess.core.db import Base, transaction, utcnow
from riskassess.core.keys import DataKey, UnreadableData, Vault
from riskassess.core.localtime import LOCAL_TIME
from riskassess.errors import N_, AccessDenied, DomainError
from riskassess.reports import facts
from riskassess.reports.models import AssessmentFact

if TYPE_CHECKING:
    from riskassess.assessments.models import Assessment

RESEARCH_BIRTH_DAYS = (5, 15, 25)


def research_exempt(normalized_pnr: str) -> bool:
    """Born on day 5, 15 or 25, by the number itself: the law keeps such files for research."""
    return is_research_birth_day(birth_date_of(normalized_pnr))


def case_research_exempt(session: Session, vault: Vault, case_id: uuid.UUID) -> bool:
    """Whether the law keeps this case, from its sealed identity. Raises UnreadableData when
    the identity does not decrypt. Only for gallring and for those who may see the identity."""
    case = session.get(Case, case_id)
    assert case is not None
    raw = vault.open_json(
        session, case.data_key_id, case.identity, "case_file", "identity", case.id
    )
    return research_exempt(str(raw["personnummer"]))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none: the later date, never earlier
        return date(day.year + years, 3, 1)


@dataclass(frozen=True)
class RetentionDates:
    last_entry: date
    due: date  # the case may be deleted from this day
    deadline: date  # and must be deleted by this day

    @classmethod
    def after(cls, last_entry_dt: datetime, years: int) -> RetentionDates:
        last_entry = last_entry_dt.astimezone(LOCAL_TIME).date()
        due = add_years(last_entry, years)
        return cls(last_entry, due, date(due.year + 1, 12, 31))


def _assessment_last_changes() -> Subquery:
    from riskassess.assessments.models import Assessment  # cases must not import it at load

    return (
        select(Assessment.case_id, func.max(Assessment.updated_dt).label("changed_dt"))
        .group_by(Assessment.case_id)
        .subquery()
    )


def _latest(*moments: datetime | None) -> datetime:
    return max(m for m in moments if m is not None)


def last_entry_dt(
    session: Session, case: Case, assessments: Sequence[Assessment] | None = None
) -> datetime:
    """The latest change of the case or of any of its assessments. `assessments`: all of the
    case's, where the caller has loaded them already (its page), else they are queried."""
    from riskassess.assessments.models import Assessment

    if assessments is not None:
        assessed = max((a.updated_dt for a in assessments), default=None)
    else:
        assessed = session.scalar(
            select(func.max(Assessment.updated_dt)).where(Assessment.case_id == case.id)
        )
    return _latest(case.updated_dt, case.closed_dt, assessed)


@dataclass(frozen=True)
class HoldView:
    reason: str
    note: str
    placed_by: str
    placed_dt: datetime


@dataclass(frozen=True)
class RetentionStatus:
    dates: RetentionDates
    hold: HoldView | None
    # Kept by law (born on day 5, 15 or 25); None: not shown to this user (a protected
    # identity, which the user may not see, would be narrowed down by it).
    research_exempt: bool | None = None


def retention_status(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    years: int,
    assessments: Sequence[Assessment] | None = None,
) -> RetentionStatus:
    """The case's retention dates, its hold and its exemption, for its page. The caller has
    authorized and audited the read of the case (the hold note is part of the case). The
    exemption of a protected identity is shown only to those who may see the identity.
    `assessments`: all of the case's, if the caller has them."""
    dates = RetentionDates.after(last_entry_dt(session, case, assessments), years)
    exempt = (
        case_research_exempt(session, vault, case.id)
        if policy.can_reveal_identity(user, case)
        else None
    )
    row = session.execute(_hold_query(), {"case_id": case.id}).first()
    if row is None:
        return RetentionStatus(dates, None, exempt)
    hold, placed_by = row
    note = ""
    if hold.note is not None:
        note = vault.open_json(
            session, case.data_key_id, hold.note, "retention_hold", "note", case.id
        )
    return RetentionStatus(dates, HoldView(hold.reason, note, placed_by, hold.placed_dt), exempt)


@cache
def _hold_query() -> Select[RetentionHold, str]:
    # Built once (see core.db): the case page runs it on every view.
    return (
        select(RetentionHold, User.display_name)
        .join(User, User.id == RetentionHold.placed_by_id)
        .where(RetentionHold.case_id == bindparam("case_id"))
    )


def place_hold(
    session: Session, vault: Vault, user: User, case: Case, reason: str, note: str
) -> RetentionHold:
    """Keep the case past its retention date. Replaces an earlier hold of the case."""
    if not policy.can_hold_retention(user, case):
        audit.append_denial(session, user.as_actor(), "case:retention:hold", "case", case.id)
        raise AccessDenied(N_("You may not hold this case's gallring."))
    note = note.strip()
    if reason not in HoldReason.ALL:
        raise DomainError(N_("Choose a reason for the hold."))
    if reason == HoldReason.OTHER and not note:
        raise DomainError(N_("Describe the reason for the hold."))
    # Lock the case row as the retention run does, so a hold and a deletion never cross.
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    hold = session.get(RetentionHold, case.id)
    if hold is None:
        hold = RetentionHold(case_id=case.id)
        session.add(hold)
    hold.reason = reason
    hold.note = (
        vault.seal_json(session, case.data_key_id, note, "retention_hold", "note", case.id)
        if note
        else None
    )
    hold.placed_by_id = user.id
    hold.placed_dt = utcnow()
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:retention:hold",
        object_type="case",
        object_id=case.id,
        details={"reason": reason},
    )
    return hold


def lift_hold(session: Session, user: User, case: Case) -> None:
    if not policy.can_hold_retention(user, case):
        audit.append_denial(session, user.as_actor(), "case:retention:release", "case", case.id)
        raise AccessDenied(N_("You may not hold this case's gallring."))
    hold = session.get(RetentionHold, case.id)
    if hold is None:
        raise DomainError(N_("The case is not on hold."))
    session.delete(hold)
    session.flush()
    audit.append(
        session, user.as_actor(), "case:retention:release", object_type="case", object_id=case.id
    )


@dataclass(frozen=True)
class PlannedCase:
    case_id: uuid.UUID
    reference: str
    dates: RetentionDates
    hold_reason: str | None
    key_destroyed: bool

    def is_overdue(self, today: date) -> bool:
        return today > self.dates.deadline


@dataclass(frozen=True)
class RetentionPlan:
    today: date
    years: int
    due: list[PlannedCase]  # to be deleted, oldest first
    held: list[PlannedCase]  # past their due date, but on hold
    # Past their due date, but kept by law (born on day 5, 15 or 25).
    exempt: list[PlannedCase] = field(default_factory=list)
    # Past their due date, but the identity did not decrypt, so the exemption is unknown: kept.
    unreadable: list[PlannedCase] = field(default_factory=list)


def plan_retention(session: Session, vault: Vault, years: int, today: date) -> RetentionPlan:
    """Which cases are past their due date on `today`. Reads plaintext metadata, and for the
    cases past their due date without a hold, the birth day from the sealed identity."""
    assessed = _assessment_last_changes()
    rows = session.execute(
        select(
            Case.id,
            Case.reference,
            Case.updated_dt,
            Case.closed_dt,
            assessed.c.changed_dt,
            RetentionHold.reason,
            DataKey.destroyed_dt,
        )
        .join(DataKey, DataKey.id == Case.data_key_id)
        .outerjoin(assessed, assessed.c.case_id == Case.id)
        .outerjoin(RetentionHold, RetentionHold.case_id == Case.id)
    ).all()
    due: list[PlannedCase] = []
    held: list[PlannedCase] = []
    exempt: list[PlannedCase] = []
    unreadable: list[PlannedCase] = []
    for case_id, reference, updated, closed, changed, hold_reason, destroyed in rows:
        dates = RetentionDates.after(_latest(updated, closed, changed), years)
        planned = PlannedCase(case_id, reference, dates, hold_reason, destroyed is not None)
        if planned.key_destroyed:
            due.append(planned)  # unreadable already: only its rows are left to delete
        elif dates.due > today:
            continue
        elif hold_reason is not None:
            held.append(planned)
        else:
            try:
                is_exempt = case_research_exempt(session, vault, case_id)
            except UnreadableData:
                unreadable.append(planned)
            else:
                (exempt if is_exempt else due).append(planned)
    for found in (due, held, exempt, unreadable):
        found.sort(key=lambda p: (p.dates.due, p.reference))
    return RetentionPlan(today, years, due, held, exempt, unreadable)


class RetentionSkipped(DomainError):
    """The case changed since the plan was made (new entry, or a hold): it stays."""


def destroy_case_key(
    session: Session,
    vault: Vault,
    actor: audit.Actor,
    case_id: uuid.UUID,
    years: int,
    today: date,
) -> None:
    """Step one: destroy the case's data key, after checking again, under lock, that the case
    is due, not on hold and not exempt by law."""
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise RetentionSkipped(N_("The case no longer exists."))
    key = session.get(DataKey, case.data_key_id, with_for_update=True)
    assert key is not None  # a foreign key guarantees it
    if key.destroyed_dt is not None:
        return
    if session.get(RetentionHold, case.id) is not None:
        raise RetentionSkipped(N_("The case was put on hold."))
    if RetentionDates.after(last_entry_dt(session, case), years).due > today:
        raise RetentionSkipped(N_("The case has a newer entry."))
    try:
        is_exempt = case_research_exempt(session, vault, case.id)
    except UnreadableData:
        raise RetentionSkipped(N_("The identity could not be read: the case is kept.")) from None
    if is_exempt:
        raise RetentionSkipped(N_("The law keeps the case (born on day 5, 15 or 25)."))
    key.wrapped_key = b""
    key.destroyed_dt = utcnow()
    # The case's facts for follow-up statistics are sealed under the installation's statistics
    # key, not the case's: they go now, so nothing of the case stays readable.
    counted = session.scalars(select(AssessmentFact).where(AssessmentFact.case_id == case.id))
    try:
        facts.forget_facts(session, vault, counted)
    except UnreadableData:
        raise RetentionSkipped(
            N_("The follow-up statistics could not be opened: the case is kept.")
        ) from None
    audit.append(
        session,
        actor,
        "crypto:data_key:destroy",
        object_type="case",
        object_id=case.id,
        details={"reference": case.reference, "reason": "retention"},
    )


def _delete_with_dependents(session: Session, table: Table, condition: ColumnElement[bool]) -> None:
    """Delete the rows of `table` matching `condition` and, first, every row of any table that
    refers to them, found through the foreign keys of the complete metadata, so a table added
    later that hangs off a case or an assessment is deleted with it."""
    for child in Base.metadata.sorted_tables:
        if child is table:
            continue  # a reference within the table (a reassessment's previous one)
        for foreign_key in child.foreign_keys:
            if foreign_key.column.table is table:
                parents = select(foreign_key.column).where(condition)
                _delete_with_dependents(session, child, foreign_key.parent.in_(parents))
    session.execute(delete(table).where(condition))


def delete_case_rows(session: Session, actor: audit.Actor, case_id: uuid.UUID) -> str:
    """Step two: delete the case, everything that refers to it, and its destroyed data key.
    Returns the case number. Refuses while the data key still exists."""
    import riskassess.models  # noqa: F401 - the complete metadata, to find every dependent

    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise RetentionSkipped(N_("The case no longer exists."))
    key = session.get(DataKey, case.data_key_id)
    if key is None or key.destroyed_dt is None:
        raise RetentionSkipped(N_("The case's data key has not been destroyed."))
    reference, data_key_id = case.reference, case.data_key_id
    case_table = Case.__table__
    assert isinstance(case_table, Table)
    _delete_with_dependents(session, case_table, case_table.c.id == case_id)
    session.execute(delete(DataKey).where(DataKey.id == data_key_id))
    session.expunge_all()  # the deleted rows must not be flushed again
    audit.append(
        session,
        actor,
        "case:case:delete",
        object_type="case",
        object_id=case_id,
        details={"reference": reference, "reason": "retention"},
    )
    return reference


@dataclass
class RetentionRun:
    deleted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def run_retention(
    factory: sessionmaker[Session],
    vault: Vault,
    actor: audit.Actor,
    plan: RetentionPlan,
    *,
    on_case: Callable[[PlannedCase, str], None] | None = None,
) -> RetentionRun:
    """Carry out a plan, one case at a time: destroy the key (commit), then delete the rows
    (commit). A case that fails is reported and the run goes on with the next."""
    from sqlalchemy.exc import SQLAlchemyError

    result = RetentionRun()
    for planned in plan.due:
        try:
            with transaction(factory) as session:
                destroy_case_key(session, vault, actor, planned.case_id, plan.years, plan.today)
            with transaction(factory) as session:
                delete_case_rows(session, actor, planned.case_id)
        except RetentionSkipped as exc:
            result.skipped.append((planned.reference, exc.message))
            outcome = "skipped"
        except SQLAlchemyError as exc:
            result.failed.append((planned.reference, type(exc).__name__))
            outcome = "failed"
        else:
            result.deleted.append(planned.reference)
            outcome = "deleted"
        if on_case is not None:
            on_case(planned, outcome)
    return result


def is_research_birth_day(born: date) -> bool:
    """Born on day 5, 15 or 25: the law keeps such files for research."""
    return born.day in RESEARCH_BIRTH_DAYS


def today_local() -> date:
    return datetime.now(UTC).astimezone(LOCAL_TIME).date()
