"""The register of trained raters without a database: what a training entry may hold, and who
may record one for whom."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from riskassess.accounts.models import User
from riskassess.accounts.policy import can_manage_training
from riskassess.accounts.raters import COURSE_MAX, course_problem, training_date_problem

TODAY = date(2026, 11, 29)
NORTH, SOUTH = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        (TODAY, None),
        (date(1990, 1, 1), None),
        (date(2019, 5, 14), None),
        (date(2026, 11, 30), "cannot be in the future"),
        (date(2199, 1, 1), "cannot be in the future"),
        (date(1989, 12, 31), "from 1990 on"),
        (date(1900, 1, 1), "from 1990 on"),
    ],
)
def test_a_training_date_lies_between_1990_and_today(day: date, problem: str | None) -> None:
    found = training_date_problem(day, TODAY)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    ("course", "problem"),
    [
        ("SAVRY grundutbildning", None),
        ("x" * COURSE_MAX, None),
        ("  SAVRY  ", None),  # stored without the spaces
        ("", "Give the course's name"),
        ("   ", "Give the course's name"),
        ("x" * (COURSE_MAX + 1), "at most 200"),
        ("SAVRY\x00kurs", "control characters"),
        ("SAVRY\nkurs", "control characters"),
    ],
)
def test_a_course_name_is_short_plain_text(course: str, problem: str | None) -> None:
    found = course_problem(course)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def _user(role: str, unit: uuid.UUID | None) -> User:
    return User(id=uuid.uuid4(), username=f"{role}.x", role=role, unit_id=unit)


CASEWORKER_NORTH = _user("caseworker", NORTH)
SUPERVISOR_NORTH = _user("supervisor", NORTH)
TARGETS = {
    "caseworker of the north": CASEWORKER_NORTH,
    "caseworker of the south": _user("caseworker", SOUTH),
    "supervisor of the north": _user("supervisor", NORTH),
    "trainer": _user("trainer", None),
}
ACTORS = {
    "admin": _user("admin", None),
    "supervisor of the north": SUPERVISOR_NORTH,
    "supervisor of the south": _user("supervisor", SOUTH),
    "supervisor without a unit": _user("supervisor", None),
    "caseworker of the north": _user("caseworker", NORTH),
    "trainer": _user("trainer", None),
    "auditor": _user("auditor", None),
}
# (actor, target) pairs that may record and remove trainings; every other pair may not.
ALLOWED = {
    ("admin", "caseworker of the north"),
    ("admin", "caseworker of the south"),
    ("admin", "supervisor of the north"),
    ("admin", "trainer"),
    ("supervisor of the north", "caseworker of the north"),
    ("supervisor of the north", "supervisor of the north"),  # a colleague, not oneself
    ("supervisor of the south", "caseworker of the south"),
}


@pytest.mark.parametrize("actor", sorted(ACTORS))
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_who_may_manage_whose_trainings(actor: str, target: str) -> None:
    assert can_manage_training(ACTORS[actor], TARGETS[target]) == ((actor, target) in ALLOWED)


@pytest.mark.parametrize("who", [ACTORS["admin"], SUPERVISOR_NORTH])
def test_nobody_registers_their_own_training(who: User) -> None:
    assert not can_manage_training(who, who)
