"""Assessment states and the one transition table. Pure data and a lookup; no I/O."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    EDIT = "edit"
    SUBMIT = "submit"
    RETURN = "return"
    APPROVE = "approve"
    SUPERSEDE = "supersede"
    WITHDRAW = "withdraw"


TRANSITIONS: dict[State, dict[Action, State]] = {
    State.DRAFT: {
        Action.EDIT: State.DRAFT,
        Action.SUBMIT: State.SUBMITTED,
        Action.WITHDRAW: State.WITHDRAWN,
    },
    State.SUBMITTED: {
        Action.APPROVE: State.APPROVED,
        Action.RETURN: State.RETURNED,
        Action.WITHDRAW: State.WITHDRAWN,
    },
    # A returned assessment goes back to draft as soon as the caseworker edits it.
    State.RETURNED: {Action.EDIT: State.DRAFT},
    State.APPROVED: {Action.SUPERSEDE: State.SUPERSEDED},
    State.SUPERSEDED: {},
    State.WITHDRAWN: {},
}


class TransitionRefused(Exception):
    def __init__(self, state: State, action: Action) -> None:
        super().__init__(f"cannot {action.value} an assessment that is {state.value}")
        self.state = state
        self.action = action


def allowed(state: State, action: Action) -> bool:
    return action in TRANSITIONS[state]


def next_state(state: State, action: Action) -> State:
    try:
        return TRANSITIONS[state][action]
    except KeyError:
        raise TransitionRefused(state, action) from None
