"""The transition table, checked for every (state, action) pair."""

from __future__ import annotations

import pytest

from riskassess.assessments.workflow import (
    TRANSITIONS,
    Action,
    State,
    TransitionRefused,
    allowed,
    next_state,
)

EXPECTED = {
    (State.DRAFT, Action.EDIT): State.DRAFT,
    (State.DRAFT, Action.SUBMIT): State.SUBMITTED,
    (State.DRAFT, Action.WITHDRAW): State.WITHDRAWN,
    (State.SUBMITTED, Action.APPROVE): State.APPROVED,
    (State.SUBMITTED, Action.RETURN): State.RETURNED,
    (State.SUBMITTED, Action.WITHDRAW): State.WITHDRAWN,
    (State.RETURNED, Action.EDIT): State.DRAFT,
    (State.APPROVED, Action.SUPERSEDE): State.SUPERSEDED,
}


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_every_pair(state: State, action: Action) -> None:
    expected = EXPECTED.get((state, action))
    assert allowed(state, action) == (expected is not None)
    if expected is None:
        with pytest.raises(TransitionRefused):
            next_state(state, action)
    else:
        assert next_state(state, action) is expected


def test_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(State)


def test_approved_content_is_frozen() -> None:
    assert not allowed(State.APPROVED, Action.EDIT)
    assert not allowed(State.SUBMITTED, Action.EDIT)
