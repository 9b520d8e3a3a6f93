"""The register of trained raters: which instruments a user is trained in, since when, on which
course, and who recorded it.

Socialstyrelsen's guidance is that only trained staff should use SAVRY; the register lets an
assessment started by someone not registered as trained say so, in the audit log and to the
supervisor who reviews it. Entries are recorded and removed (when entered by mistake) by an
administrator or the user's supervisor, each audited with ids, the instrument id and the date:
never the course's name, which someone typed.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, aliased

from riskassess.accounts.models import RaterTraining, Unit, User
from riskassess.core import audit
from riskassess.errors import N_, DomainError

EARLIEST_TRAINING = date(1990, 1, 1)  # before any of the instruments existed
COURSE_MAX = 200


class UnknownInstrument(DomainError):
    pass


def training_date_problem(trained_on: date, today: date) -> str | None:
    """Why a training date cannot be right, or None: not in the future, not before 1990."""
    if trained_on > today:
        return N_("The date of the training cannot be in the future.")
    if trained_on < EARLIEST_TRAINING:
        return N_("Give a date of the training from 1990 on.")
    return None


def course_problem(course: str) -> str | None:
    """Why a course's name cannot be stored, or None."""
    if not course.strip():
        return N_("Give the course's name.")
    if len(course.strip()) > COURSE_MAX:
        return N_("The course's name can be at most 200 characters.")
    if any(unicodedata.category(ch) == "Cc" for ch in course):
        return N_("The course's name holds control characters (invisible characters).")
    return None


def record_training(
    session: Session,
    actor: audit.Actor,
    target: User,
    instrument_id: str,
    trained_on: date,
    course: str,
    known_instruments: Collection[str],
    today: date | None = None,
) -> RaterTraining:
    """Add `target`'s training in an instrument of this installation to the register."""
    if instrument_id not in known_instruments:
        raise UnknownInstrument(N_("No instrument with that id is installed."))
    problem = training_date_problem(trained_on, today or date.today()) or course_problem(course)
    if problem is not None:
        raise DomainError(problem)
    duplicate = session.scalar(
        select(RaterTraining.id).where(
            RaterTraining.user_id == target.id,
            RaterTraining.instrument_id == instrument_id,
            RaterTraining.trained_on == trained_on,
        )
    )
    if duplicate is not None:
        raise DomainError(
            N_("This training is already in the register (the same instrument and date).")
        )
    training = RaterTraining(
        user_id=target.id,
        instrument_id=instrument_id,
        trained_on=trained_on,
        course=course.strip(),
        recorded_by_id=actor.user_id,
    )
    session.add(training)
    session.flush()
    _audit(session, actor, "account:training:record", training)
    return training


def remove_training(session: Session, actor: audit.Actor, training: RaterTraining) -> None:
    """Remove an entry made by mistake. The audit entry keeps which one it was."""
    session.delete(training)
    session.flush()
    _audit(session, actor, "account:training:remove", training)


def _audit(session: Session, actor: audit.Actor, action: str, training: RaterTraining) -> None:
    audit.append(
        session,
        actor,
        action,
        object_type="user",
        object_id=training.user_id,
        details={
            "training": str(training.id),
            "instrument": training.instrument_id,
            "trained_on": training.trained_on.isoformat(),
        },
    )


def registered_instruments(session: Session, user_id: uuid.UUID) -> frozenset[str]:
    """The ids of the instruments the user is registered as trained in."""
    return frozenset(session.scalars(_registered_query(), {"user_id": user_id}))


@cache
def _registered_query() -> Select[str]:
    # Built once (see core.db): the case and assessment pages ask on every view.
    return (
        select(RaterTraining.instrument_id)
        .where(RaterTraining.user_id == bindparam("user_id"))
        .distinct()
    )


def is_registered(session: Session, user_id: uuid.UUID, instrument_id: str) -> bool:
    return (
        session.scalar(
            select(RaterTraining.id)
            .where(RaterTraining.user_id == user_id, RaterTraining.instrument_id == instrument_id)
            .limit(1)
        )
        is not None
    )


@dataclass(frozen=True)
class TrainingRow:
    """One entry of the register with the name of whoever recorded it (None: the command line
    or the demo seeding)."""

    training: RaterTraining
    recorded_by: str | None


def trainings_of(
    session: Session, user_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[TrainingRow]]:
    """The register's entries of these users, by user: by instrument, the latest first."""
    recorder = aliased(User)
    rows = session.execute(
        select(RaterTraining, recorder.display_name)
        .outerjoin(recorder, recorder.id == RaterTraining.recorded_by_id)
        .where(RaterTraining.user_id.in_(list(user_ids)))
        .order_by(RaterTraining.instrument_id, RaterTraining.trained_on.desc())
    ).all()
    found: dict[uuid.UUID, list[TrainingRow]] = {user_id: [] for user_id in user_ids}
    for training, name in rows:
        found[training.user_id].append(TrainingRow(training, name))
    return found


@dataclass(frozen=True)
class StaffMember:
    user: User
    trainings: list[TrainingRow]


def staff_trainings(
    session: Session, unit_id: uuid.UUID | None
) -> list[tuple[Unit, list[StaffMember]]]:
    """The active staff of one unit (a supervisor's), or of every unit (None: an
    administrator's overview), with their trainings, unit by unit."""
    query = (
        select(User)
        .join(Unit, Unit.id == User.unit_id)
        .where(User.is_enabled)
        .order_by(Unit.code, User.display_name, User.username)
    )
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    users = [u for u in session.scalars(query) if u.is_active]
    trainings = trainings_of(session, [u.id for u in users])
    grouped: dict[uuid.UUID, tuple[Unit, list[StaffMember]]] = {}
    for member in users:
        if member.unit is None:  # cannot happen: joined on the unit above
            continue
        unit_rows = grouped.setdefault(member.unit.id, (member.unit, []))[1]
        unit_rows.append(StaffMember(member, trainings[member.id]))
    return list(grouped.values())
