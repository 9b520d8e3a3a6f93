"""Use cases for assessments: start, read, save, submit, return, approve.

Every function takes the session, the vault and the acting user, checks the policy and the
transition table, changes the rows, appends the audit entry and flushes. None commits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import policy
from riskassess.assessments.content import Content, Problem, submission_problems
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.assessments.workflow import Action, State, TransitionRefused, next_state
from riskassess.cases.models import Case
from riskassess.cases.services import Identity, deny, open_identity
from riskassess.core import audit
from riskassess.core.db import new_id, utcnow
from riskassess.core.keys import Vault
from riskassess.errors import N_, AccessDenied, DomainError, EditConflict, WorkflowError
from riskassess.instruments.definition import Instrument
from riskassess.instruments.services import record_version


class IncompleteAssessment(DomainError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("The assessment is not complete.")
        self.problems = problems


@dataclass(frozen=True)
class DecisionView:
    decision: str
    author_name: str
    created_dt: datetime
    comment: str


@dataclass(frozen=True)
class AssessmentView:
    assessment: Assessment
    content: Content
    decisions: list[DecisionView]
    eligibility_reason: str | None


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


def _transition(assessment: Assessment, action: Action) -> State:
    try:
        return next_state(State(assessment.state), action)
    except TransitionRefused:
        raise WorkflowError(
            N_("This step is not possible in the assessment's current state.")
        ) from None


def _refuse(session: Session, user: User, action: str, assessment_id: object) -> AccessDenied:
    deny(session, user, action, "assessment", assessment_id)  # type: ignore[arg-type]
    return AccessDenied("You do not have access to this assessment.")


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_eligible(instrument: Instrument, identity: Identity, day: date) -> bool:
    return instrument.applies_to(age_on(identity.birth_date, day), identity.sex)


def start_assessment(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    instrument: Instrument,
    eligibility_reason: str = "",
) -> Assessment:
    """Open a draft. An instrument outside the child's age or sex range needs a written reason,
    which the supervisor sees."""
    if not policy.can_start_assessment(user, case):
        raise _refuse(session, user, "case:assessment:create", case.id)
    now = utcnow()
    reason = eligibility_reason.strip()
    if is_eligible(instrument, open_identity(session, vault, case), now.date()):
        reason = ""
    elif not reason:
        raise DomainError(
            N_("The instrument is not meant for this child's age or sex: give a reason to use it.")
        )
    record_version(session, instrument)
    assessment_id = new_id()
    assessment = Assessment(
        id=assessment_id,
        case_id=case.id,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        instrument_hash=instrument.content_hash,
        state=State.DRAFT.value,
        created_by_id=user.id,
        created_dt=now,
        updated_dt=now,
        content=_seal_content(session, vault, case, assessment_id, Content()),
        eligibility_reason=vault.seal_json(
            session, case.data_key_id, reason, "assessment", "eligibility_reason", assessment_id
        )
        if reason
        else None,
    )
    session.add(assessment)
    session.flush()
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
        },
    )
    return assessment


def read_assessment(
    session: Session, vault: Vault, user: User, case: Case, assessment: Assessment
) -> AssessmentView:
    if not policy.can_read_assessment(user, case):
        raise _refuse(session, user, "case:assessment:read", assessment.id)
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:read",
        object_type="assessment",
        object_id=assessment.id,
    )
    rows = session.execute(
        select(ReviewDecision, User.display_name)
        .join(User, User.id == ReviewDecision.author_id)
        .where(ReviewDecision.assessment_id == assessment.id)
        .order_by(ReviewDecision.created_dt)
    ).all()
    decisions = [
        DecisionView(
            row.decision,
            name,
            row.created_dt,
            vault.open_json(
                session, case.data_key_id, row.comment, "review_decision", "comment", row.id
            ),
        )
        for row, name in rows
    ]
    reason = None
    if assessment.eligibility_reason is not None:
        reason = vault.open_json(
            session,
            case.data_key_id,
            assessment.eligibility_reason,
            "assessment",
            "eligibility_reason",
            assessment.id,
        )
    return AssessmentView(
        assessment, open_content(session, vault, case, assessment), decisions, reason
    )


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
        raise _refuse(session, user, "case:assessment:update", assessment.id)
    new_state = _transition(assessment, Action.EDIT)
    if based_on_version != assessment.lock_version:
        raise EditConflict(
            "Someone else saved this assessment after you opened it. Nothing of yours was saved."
        )
    assessment.content = _seal_content(session, vault, case, assessment.id, content)
    assessment.state = new_state.value
    assessment.updated_dt = utcnow()
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:update",
        object_type="assessment",
        object_id=assessment.id,
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
        raise _refuse(session, user, "case:assessment:submit", assessment.id)
    new_state = _transition(assessment, Action.SUBMIT)
    problems = submission_problems(instrument, open_content(session, vault, case, assessment))
    if problems:
        raise IncompleteAssessment(problems)
    assessment.state = new_state.value
    assessment.submitted_dt = assessment.updated_dt = utcnow()
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:submit",
        object_type="assessment",
        object_id=assessment.id,
    )


def _decide(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    action: Action,
    comment: str,
) -> ReviewDecision:
    tag = f"case:assessment:{action.value}"
    if not policy.can_review_assessment(user, case):
        raise _refuse(session, user, tag, assessment.id)
    new_state = _transition(assessment, action)
    now = utcnow()
    decision_id = new_id()
    decision = ReviewDecision(
        id=decision_id,
        assessment_id=assessment.id,
        author_id=user.id,
        decision=action.value,
        created_dt=now,
        comment=vault.seal_json(
            session, case.data_key_id, comment, "review_decision", "comment", decision_id
        ),
    )
    session.add(decision)
    details: dict[str, str] = {}
    if action is Action.APPROVE:
        assessment.content_hash = content_hash(open_content(session, vault, case, assessment))
        details["content_hash"] = assessment.content_hash
    assessment.state = new_state.value
    assessment.decided_by_id = user.id
    assessment.decided_dt = assessment.updated_dt = now
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        tag,
        object_type="assessment",
        object_id=assessment.id,
        details=details,
    )
    return decision


def return_assessment(
    session: Session, vault: Vault, user: User, case: Case, assessment: Assessment, comment: str
) -> ReviewDecision:
    if not comment.strip():
        raise DomainError(N_("A comment is needed to return an assessment."))
    return _decide(session, vault, user, case, assessment, Action.RETURN, comment.strip())


def approve_assessment(
    session: Session, vault: Vault, user: User, case: Case, assessment: Assessment, comment: str
) -> ReviewDecision:
    return _decide(session, vault, user, case, assessment, Action.APPROVE, comment.strip())


def review_queue(session: Session, user: User) -> list[tuple[Assessment, Case]]:
    """Submitted assessments of the supervisor's unit, oldest first. Shows no identity."""
    rows = session.execute(
        select(Assessment, Case)
        .join(Case, Case.id == Assessment.case_id)
        .where(Case.unit_id == user.unit_id, Assessment.state == State.SUBMITTED.value)
        .order_by(Assessment.submitted_dt)
    ).all()
    return [(a, c) for a, c in rows]


def case_assessments(session: Session, case: Case) -> list[Assessment]:
    return list(
        session.scalars(
            select(Assessment)
            .where(Assessment.case_id == case.id)
            .order_by(Assessment.created_dt.desc())
        )
    )
