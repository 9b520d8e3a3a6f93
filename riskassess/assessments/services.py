"""Use cases for assessments: start, save, submit, return, approve, correct (reading them for
display, the review queue and comparisons are in reading.py).

Every function takes the session, the vault and the acting user, checks the policy and the
transition table, changes the rows, appends the audit entry and flushes. None commits.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from functools import cache

from sqlalchemy import Insert, Select, Update, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from riskassess.accounts.models import User
from riskassess.accounts.passwords import Passwords
from riskassess.accounts.raters import is_registered
from riskassess.assessments import policy
from riskassess.assessments.content import (
    CARRIED,
    Content,
    Problem,
    case_problems,
    previous_rating,
)
from riskassess.assessments.followup import record_plan_follow_ups
from riskassess.assessments.models import (
    Assessment,
    AssessmentEditor,
    AssessmentKind,
    ReviewDecision,
)
from riskassess.assessments.workflow import Action, State, TransitionRefused, next_state
from riskassess.cases.models import Case
from riskassess.cases.policy import same_unit
from riskassess.cases.services import (
    Identity,
    age_on,
    deny,
    has_emergency_access,
    open_identity,
)
from riskassess.core import audit
from riskassess.core.db import new_id, utcnow
from riskassess.core.keys import DataKey, Vault, keep_loaded
from riskassess.errors import N_, AccessDenied, DomainError, EditConflict, WorkflowError
from riskassess.instruments.definition import Instrument
from riskassess.instruments.services import record_version
from riskassess.reports.facts import record_fact

EDITED_ELSEWHERE = N_(
    "Someone else saved this assessment after you opened it. Nothing of yours was saved."
)
DECIDED_ELSEWHERE = N_(
    "Someone else decided on this assessment at the same time. Nothing of yours was saved."
)


class SignatureRefused(DomainError):
    pass


class IncompleteAssessment(DomainError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("The assessment is not complete.")
        self.problems = problems


@dataclass(frozen=True)
class PreviousView:
    """The approved assessment a reassessment started from, to rate beside."""

    assessment: Assessment
    content: Content


def _seal_content(
    session: Session, vault: Vault, case: Case, assessment_id: object, content: Content
) -> bytes:
    return vault.seal_json(
        session, case.data_key_id, content.to_json(), "assessment", "content", assessment_id
    )


def open_content(session: Session, vault: Vault, case: Case, assessment: Assessment) -> Content:
    raw = vault.open_json(
        session, case.data_key_id, assessment.content, "assessment", "content", assessment.id
    )
    return Content.from_json(raw)


def content_hash(content: Content) -> str:
    canonical = json.dumps(
        content.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@contextmanager
def _single_writer(session: Session, conflict: str) -> Iterator[None]:
    """Apply the block's change to an assessment and flush it in a savepoint.

    The flush matches the row on the lock version this request read. On PostgreSQL two
    requests can read the same version, and the later flush then matches no row
    (StaleDataError): only the savepoint is rolled back, so the request goes on to say so with
    `conflict` and nothing of the change is written. (On SQLite requests take turns, and the
    version or state check before the change refuses instead.)"""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except StaleDataError:
        raise EditConflict(conflict) from None


def _transition(assessment: Assessment, action: Action) -> State:
    try:
        return next_state(State(assessment.state), action)
    except TransitionRefused:
        raise WorkflowError(
            N_("This step is not possible in the assessment's current state.")
        ) from None


def may_read(session: Session, user: User, case: Case) -> bool:
    """The unit rule, widened by an active emergency grant (looked up only when needed)."""
    emergency = not same_unit(user, case) and has_emergency_access(session, user, case)
    return policy.can_read_assessment(user, case, emergency=emergency)


def check_readable(
    session: Session, user: User, case: Case, assessment: Assessment, purpose: str = "read"
) -> None:
    """Raise AccessDenied, the refusal logged as `case:assessment:<purpose>`, unless the user
    may read the assessment."""
    if not may_read(session, user, case):
        raise refuse(session, user, f"case:assessment:{purpose}", assessment.id)


def deny_assessment(session: Session, user: User, action: str, assessment: Assessment) -> None:
    """Record a refused attempt on an assessment; the caller answers 403."""
    deny(session, user, action, "assessment", assessment.id)


def refuse(session: Session, user: User, action: str, assessment_id: object) -> AccessDenied:
    deny(session, user, action, "assessment", assessment_id)  # type: ignore[arg-type]
    return AccessDenied("You do not have access to this assessment.")


def is_eligible(instrument: Instrument, identity: Identity, day: date) -> bool:
    return instrument.applies_to(age_on(identity.birth_date, day), identity.sex)


def latest_approved(session: Session, case: Case, instrument_id: str) -> Assessment | None:
    """The assessment a reassessment with this instrument starts from."""
    return session.scalar(
        select(Assessment)
        .where(
            Assessment.case_id == case.id,
            Assessment.instrument_id == instrument_id,
            Assessment.state == State.APPROVED.value,
        )
        .order_by(Assessment.decided_dt.desc())
        .limit(1)
    )


def latest_approved_of(assessments: list[Assessment], instrument_id: str) -> Assessment | None:
    """`latest_approved` among assessments already loaded."""
    approved = [
        a
        for a in assessments
        if a.instrument_id == instrument_id and a.state == State.APPROVED.value
    ]
    # The newest decision; one without a decision time (never, after an approval) last.
    return max(
        approved,
        key=lambda a: (a.decided_dt is not None, a.decided_dt or a.created_dt),
        default=None,
    )


def carried_forward(
    instrument: Instrument, previous: Content, confirmed_historical: Collection[str]
) -> Content:
    """A reassessment's starting content: the plan, and the historical items the caseworker
    confirmed as still holding, marked as carried. Every other item starts unrated, to be
    looked at again beside its previous rating (an instrument without historical sections
    carries no item at all); the judgement starts empty."""
    items = {}
    for item in instrument.items:
        before = previous_rating(item, previous)
        if (
            before is not None
            and item.code in instrument.historical_codes
            and item.code in confirmed_historical
        ):
            items[item.code] = replace(before, sources=list(before.sources), unchanged=CARRIED)
    return Content(items=items, plan=[replace(entry) for entry in previous.plan])


def _new_draft(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    instrument_key: tuple[str, str, str],
    content: Content,
    kind: str,
    previous: Assessment | None,
    *,
    eligibility_reason: str | None = None,
    correction_reason: str | None = None,
) -> Assessment:
    """A new draft with its content and reasons sealed under the case's key, flushed. Whether
    its author is registered as trained in the instrument is noted on it."""
    instrument_id, version, instrument_hash = instrument_key
    assessment_id = new_id()
    now = utcnow()

    def sealed(text: str | None, column: str) -> bytes | None:
        if text is None:
            return None
        return vault.seal_json(session, case.data_key_id, text, "assessment", column, assessment_id)

    assessment = Assessment(
        id=assessment_id,
        case_id=case.id,
        instrument_id=instrument_id,
        instrument_version=version,
        instrument_hash=instrument_hash,
        state=State.DRAFT.value,
        created_by_id=user.id,
        created_dt=now,
        updated_dt=now,
        kind=kind,
        previous_id=None if previous is None else previous.id,
        content=_seal_content(session, vault, case, assessment_id, content),
        eligibility_reason=sealed(eligibility_reason, "eligibility_reason"),
        correction_reason=sealed(correction_reason, "correction_reason"),
        is_rater_registered=is_registered(session, user.id, instrument_id),
    )
    session.add(assessment)
    session.flush()
    note_editor(session, assessment, user)
    return assessment


def note_editor(session: Session, assessment: Assessment, user: User) -> None:
    """Record that `user` wrote the assessment's content now (see AssessmentEditor): one
    upsert, as every save of a section runs it (SQLite and PostgreSQL both take ON CONFLICT)."""
    now = utcnow()
    session.execute(
        _editor_upsert(session.get_bind().dialect.name),
        {"assessment_id": assessment.id, "user_id": user.id, "now": now},
    )


@cache
def _editor_upsert(dialect: str) -> Insert:
    # Built once per dialect (see core.db): every section save runs it.
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    now = bindparam("now", type_=AssessmentEditor.last_edit_dt.type)
    return (
        insert(AssessmentEditor)
        .values(
            assessment_id=bindparam("assessment_id"),
            user_id=bindparam("user_id"),
            first_edit_dt=now,
            last_edit_dt=now,
        )
        .on_conflict_do_update(
            index_elements=[AssessmentEditor.assessment_id, AssessmentEditor.user_id],
            set_={"last_edit_dt": now},
        )
    )


class OpenAssessmentExists(DomainError):
    """The case has an open draft with the instrument: one at a time, so that two drafts of
    the same child never compete. `assessment` is the open one, to lead to."""

    def __init__(self, assessment: Assessment) -> None:
        super().__init__(
            N_(
                "An assessment with this instrument is already open in this case: it is shown"
                " here. Finish or withdraw it before starting another."
            )
        )
        self.assessment = assessment


def open_assessment(session: Session, case: Case, instrument_id: str) -> Assessment | None:
    """The case's open draft with the instrument (a draft, or one returned for revision),
    whatever its version. One waiting for review is no draft: it is the supervisor's turn."""
    return session.scalar(
        select(Assessment)
        .where(
            Assessment.case_id == case.id,
            Assessment.instrument_id == instrument_id,
            Assessment.state.in_([State.DRAFT.value, State.RETURNED.value]),
        )
        .order_by(Assessment.created_dt)
        .limit(1)
    )


def start_assessment(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    instrument: Instrument,
    eligibility_reason: str = "",
    confirmed_historical: Collection[str] = (),
) -> Assessment:
    """Open a draft. An instrument outside the child's age or sex range needs a written reason,
    which the supervisor sees. If the case has an approved assessment with the same
    instrument, this is a reassessment that starts from it. A caseworker not registered as
    trained in the instrument may start, and that is recorded on the assessment and in the
    audit entry."""
    if not policy.can_start_assessment(user, case):
        raise refuse(session, user, "case:assessment:create", case.id)
    already = open_assessment(session, case, instrument.id)
    if already is not None:
        raise OpenAssessmentExists(already)
    now = utcnow()
    reason = eligibility_reason.strip()
    if is_eligible(instrument, open_identity(session, vault, case), now.date()):
        reason = ""
    elif not reason:
        raise DomainError(
            N_("The instrument is not meant for this child's age or sex: give a reason to use it.")
        )
    historical = instrument.historical_codes
    if not historical.issuperset(confirmed_historical):
        raise DomainError(
            N_("Only historical items of the chosen instrument can be carried forward.")
        )
    record_version(session, instrument)
    previous = latest_approved(session, case, instrument.id)
    start = Content()
    if previous is not None:
        start = carried_forward(
            instrument, open_content(session, vault, case, previous), confirmed_historical
        )
    carried = sorted(start.items)
    assessment = _new_draft(
        session,
        vault,
        user,
        case,
        (instrument.id, instrument.version, instrument.content_hash),
        start,
        AssessmentKind.INITIAL if previous is None else AssessmentKind.REASSESSMENT,
        previous,
        eligibility_reason=reason or None,
    )
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:create",
        object_type="assessment",
        object_id=assessment.id,
        details={
            "case": str(case.id),
            "instrument": f"{instrument.id}@{instrument.version}",
            "outside_target_group": bool(reason),
            "reassesses": None if previous is None else str(previous.id),
            # Item codes of the instrument, checked above: never the posted text itself.
            "carried_forward_historical": carried,
            "trained": _trained(assessment),
        },
    )
    return assessment


def _trained(assessment: Assessment) -> str:
    """The audit entry's code for whether the author is a registered trained rater."""
    return "yes" if assessment.is_rater_registered else "no"


def previous_of(
    session: Session, vault: Vault, case: Case, assessment: Assessment
) -> PreviousView | None:
    """The assessment a reassessment started from (sealed under the same case key); None for
    any other kind of assessment."""
    if assessment.kind != AssessmentKind.REASSESSMENT or assessment.previous_id is None:
        return None
    previous = session.get(Assessment, assessment.previous_id)
    if previous is None or previous.case_id != case.id:
        return None
    return PreviousView(previous, open_content(session, vault, case, previous))


def open_text(
    session: Session, vault: Vault, case: Case, assessment: Assessment, column: str
) -> str | None:
    sealed = getattr(assessment, column)
    if sealed is None:
        return None
    text: str = vault.open_json(
        session, case.data_key_id, sealed, "assessment", column, assessment.id
    )
    return text


def save_assessment(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    content: Content,
    based_on_version: int,
) -> None:
    """Store the caseworker's ratings; refuse if someone else saved since the form was loaded."""
    if not policy.can_edit_assessment(user, case):
        raise refuse(session, user, "case:assessment:update", assessment.id)
    new_state = _transition(assessment, Action.EDIT)
    if based_on_version != assessment.lock_version:
        raise EditConflict(EDITED_ELSEWHERE)
    _write_section(
        session, assessment, _seal_content(session, vault, case, assessment.id, content), new_state
    )
    note_editor(session, assessment, user)
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:update",
        object_type="assessment",
        object_id=assessment.id,
    )


def _write_section(
    session: Session, assessment: Assessment, sealed: bytes, new_state: State
) -> None:
    """The save's change as one UPDATE that matches the row only at the lock version this
    request read; no row matched means someone saved in between (on PostgreSQL two requests
    can read the same version), and nothing is written. Unlike a flush in a savepoint
    (`_single_writer`), this needs no SAVEPOINT and RELEASE round trips: a section save is
    the most frequent write there is. The loaded object is then set to what was written."""
    values = {
        "content": sealed,
        "state": new_state.value,
        "updated_dt": utcnow(),
        "lock_version": assessment.lock_version + 1,
    }
    changed = session.execute(
        _section_update(),
        {
            **{f"new_{name}": value for name, value in values.items()},
            "at_id": assessment.id,
            "at_version": assessment.lock_version,
        },
        execution_options={"synchronize_session": False},
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise EditConflict(EDITED_ELSEWHERE)
    for name, value in values.items():
        set_committed_value(assessment, name, value)


@cache
def _section_update() -> Update:
    # Built once (see core.db): a section save is the most frequent write there is.
    return (
        update(Assessment)
        .where(
            Assessment.id == bindparam("at_id"),
            Assessment.lock_version == bindparam("at_version"),
        )
        .values(
            content=bindparam("new_content"),
            state=bindparam("new_state"),
            updated_dt=bindparam("new_updated_dt"),
            lock_version=bindparam("new_lock_version"),
        )
    )


def submit_assessment(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    instrument: Instrument,
) -> None:
    if not policy.can_edit_assessment(user, case):
        raise refuse(session, user, "case:assessment:submit", assessment.id)
    new_state = _transition(assessment, Action.SUBMIT)
    # Items marked unchanged are checked against the previous assessment: decrypted for the
    # check only, never shown, so the submit entry below stands for this use.
    previous = previous_of(session, vault, case, assessment)
    problems = case_problems(
        instrument,
        open_content(session, vault, case, assessment),
        None if previous is None else previous.content,
    )
    if problems:
        raise IncompleteAssessment(problems)
    with _single_writer(session, EDITED_ELSEWHERE):
        assessment.state = new_state.value
        assessment.submitted_dt = assessment.updated_dt = utcnow()
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:submit",
        object_type="assessment",
        object_id=assessment.id,
    )


def _record_decision(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    action: Action,
    comment: str,
) -> ReviewDecision:
    decision_id = new_id()
    decision = ReviewDecision(
        id=decision_id,
        assessment_id=assessment.id,
        author_id=user.id,
        decision=action.value,
        created_dt=utcnow(),
        comment=vault.seal_json(
            session, case.data_key_id, comment, "review_decision", "comment", decision_id
        ),
    )
    session.add(decision)
    return decision


def _decide(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    action: Action,
    comment: str,
    instrument: Instrument | None = None,
) -> ReviewDecision:
    """Record the decision; an approval (which passes the instrument) also freezes the content
    and writes the assessment's fact for follow-up statistics."""
    tag = f"case:assessment:{action.value}"
    if not policy.can_review_assessment(user, case):
        raise refuse(session, user, tag, assessment.id)
    if assessment.state != State.SUBMITTED.value and assessment.decided_dt is not None:
        raise WorkflowError(DECIDED_ELSEWHERE)
    new_state = _transition(assessment, action)
    details: dict[str, object] = {}
    with _single_writer(session, DECIDED_ELSEWHERE):
        decision = _record_decision(session, vault, user, case, assessment, action, comment)
        if action is Action.APPROVE:
            content = open_content(session, vault, case, assessment)
            assessment.content_hash = content_hash(content)
            details["content_hash"] = assessment.content_hash
            # The approved plan's follow-up dates, for the lists of what is due.
            details["follow_ups"] = len(record_plan_follow_ups(session, case, assessment, content))
        assessment.state = new_state.value
        assessment.decided_by_id = user.id
        assessment.decided_dt = assessment.updated_dt = decision.created_dt
        if action is Action.APPROVE:
            assert instrument is not None, "an approval needs the assessment's instrument"
            identity = open_identity(session, vault, case)
            record_fact(session, vault, case, assessment, instrument, content, identity)
    audit.append(
        session,
        user.as_actor(),
        tag,
        object_type="assessment",
        object_id=assessment.id,
        details=details,
    )
    if action is Action.APPROVE and assessment.previous_id is not None:
        _supersede(session, user, assessment.previous_id, assessment.id)
    return decision


def _supersede(session: Session, user: User, previous_id: uuid.UUID, by_id: uuid.UUID) -> None:
    """An approved reassessment or correction replaces the approved assessment it started from."""
    previous = session.get(Assessment, previous_id)
    if previous is None or previous.state != State.APPROVED.value:
        return
    previous.state = _transition(previous, Action.SUPERSEDE).value
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:supersede",
        object_type="assessment",
        object_id=previous.id,
        details={"by": str(by_id)},
    )


def return_assessment(
    session: Session, vault: Vault, user: User, case: Case, assessment: Assessment, comment: str
) -> ReviewDecision:
    if not comment.strip():
        raise DomainError(N_("A comment is needed to return an assessment."))
    return _decide(session, vault, user, case, assessment, Action.RETURN, comment.strip())


def approve_assessment(
    session: Session,
    vault: Vault,
    passwords: Passwords,
    user: User,
    case: Case,
    assessment: Assessment,
    instrument: Instrument,
    comment: str,
    password: str,
) -> ReviewDecision:
    """Approve and sign: the supervisor's password is asked again, and the content is frozen
    under a hash recorded in the audit chain."""
    if not policy.can_review_assessment(user, case):
        raise refuse(session, user, "case:assessment:approve", assessment.id)
    if not passwords.verify(user.password_hash, password):
        audit.append(
            session,
            user.as_actor(),
            "case:assessment:sign",
            object_type="assessment",
            object_id=assessment.id,
            outcome=audit.Outcome.FAILURE,
        )
        raise SignatureRefused(N_("The password was wrong: the assessment was not approved."))
    return _decide(
        session, vault, user, case, assessment, Action.APPROVE, comment.strip(), instrument
    )


def withdraw_assessment(
    session: Session, vault: Vault, user: User, case: Case, assessment: Assessment, reason: str
) -> ReviewDecision:
    if not policy.can_edit_assessment(user, case):
        raise refuse(session, user, "case:assessment:withdraw", assessment.id)
    if not reason.strip():
        raise DomainError(N_("A reason is needed to withdraw an assessment."))
    new_state = _transition(assessment, Action.WITHDRAW)
    with _single_writer(session, EDITED_ELSEWHERE):
        decision = _record_decision(
            session, vault, user, case, assessment, Action.WITHDRAW, reason.strip()
        )
        assessment.state = new_state.value
        assessment.updated_dt = decision.created_dt
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:withdraw",
        object_type="assessment",
        object_id=assessment.id,
    )
    return decision


def start_correction(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    approved: Assessment,
    reason: str,
) -> Assessment:
    """A correction of an approved assessment is a new version, made with the same instrument
    version, starting from the approved content; the approved one stays readable."""
    if not policy.can_start_assessment(user, case):
        raise refuse(session, user, "case:assessment:correct", approved.id)
    if approved.state != State.APPROVED.value:
        raise WorkflowError(N_("Only an approved assessment can be corrected."))
    if not reason.strip():
        raise DomainError(N_("A reason is needed to correct an approved assessment."))
    open_draft = session.scalar(
        select(Assessment.id).where(
            Assessment.previous_id == approved.id,
            Assessment.state.in_([State.DRAFT.value, State.SUBMITTED.value, State.RETURNED.value]),
        )
    )
    if open_draft is not None:
        raise WorkflowError(N_("A new version of this assessment is already being worked on."))
    correction = _new_draft(
        session,
        vault,
        user,
        case,
        (approved.instrument_id, approved.instrument_version, approved.instrument_hash),
        open_content(session, vault, case, approved),
        AssessmentKind.CORRECTION,
        approved,
        eligibility_reason=open_text(session, vault, case, approved, "eligibility_reason"),
        correction_reason=reason.strip(),
    )
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:correct",
        object_type="assessment",
        object_id=correction.id,
        details={"corrects": str(approved.id), "trained": _trained(correction)},
    )
    return correction


def get_assessment(session: Session, assessment_id: uuid.UUID) -> tuple[Assessment, Case] | None:
    """The assessment and its case, with the case's data key row, in one query (see
    `cases.services.get_case`)."""
    row = session.execute(_assessment_query(), {"assessment_id": assessment_id}).first()
    if row is None:
        return None
    keep_loaded(session, row[2])
    return row[0], row[1]


@cache
def _assessment_query() -> Select[Assessment, Case, DataKey]:
    # Built once (see core.db), as the next one.
    return (
        select(Assessment, Case, DataKey)
        .join(Case, Case.id == Assessment.case_id)
        .outerjoin(DataKey, DataKey.id == Case.data_key_id)
        .where(Assessment.id == bindparam("assessment_id"))
    )


@cache
def _case_assessments_query() -> Select[Assessment]:
    return (
        select(Assessment)
        .where(Assessment.case_id == bindparam("case_id"))
        .order_by(Assessment.created_dt.desc())
    )


def case_assessments(session: Session, case: Case) -> list[Assessment]:
    return list(session.scalars(_case_assessments_query(), {"case_id": case.id}))
