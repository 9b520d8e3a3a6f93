"""Reading assessments for display: one assessment decrypted with its decisions, what a
reassessment would start from, the supervisor's review queue, and several assessments of a
case side by side. Each read checks access and writes its audit entry; none commits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.accounts.services import display_name
from riskassess.assessments.content import Content, applicable_rules
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.assessments.services import (
    PreviousView,
    check_readable,
    latest_approved,
    latest_approved_of,
    may_read,
    open_content,
    open_text,
    previous_of,
    refuse,
)
from riskassess.assessments.workflow import Action, State
from riskassess.cases.models import Case
from riskassess.cases.services import CaseView, listed_views
from riskassess.core import audit
from riskassess.core.keys import Vault
from riskassess.instruments.definition import Instrument, Item

MAX_COMPARED = 4


@dataclass(frozen=True)
class ReassessmentBasis:
    """What a reassessment with `instrument` would start from: the last approved assessment,
    and its historical items for the caseworker to confirm one by one."""

    instrument: Instrument
    previous: Assessment
    historical: list[tuple[Item, str | None]]  # item, its previous rating code


def reassessment_bases(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    instruments: list[Instrument],
    assessments: list[Assessment] | None = None,
) -> list[ReassessmentBasis]:
    """What each instrument with historical items would start a reassessment from. Give the
    case's `assessments` when they are loaded already, and no query looks for them again."""
    bases = []
    for instrument in instruments:
        if not any(d.historical for d in instrument.domains):
            continue
        if assessments is None:
            previous = latest_approved(session, case, instrument.id)
        else:
            previous = latest_approved_of(assessments, instrument.id)
        if previous is None:
            continue
        content = open_content(session, vault, case, previous)
        audit.append(
            session,
            user.as_actor(),
            "case:assessment:read",
            object_type="assessment",
            object_id=previous.id,
            details={"purpose": "reassessment"},
        )
        historical = [
            (item, content.rating(item.code).rating)
            for domain in instrument.domains
            if domain.historical
            for item in domain.items
        ]
        bases.append(ReassessmentBasis(instrument, previous, historical))
    return bases


@dataclass(frozen=True)
class DecisionView:
    decision: str
    author_name: str
    created_dt: datetime
    comment: str


@dataclass(frozen=True)
class AssessmentView:
    """An assessment decrypted for display. The decisions and the author's name are read
    when first used: a successful save redirects without showing them, so it never pays
    for them."""

    assessment: Assessment
    content: Content
    eligibility_reason: str | None
    correction_reason: str | None
    load_decisions: Callable[[], list[DecisionView]]
    load_author_name: Callable[[], str]
    # A reassessment's previous assessment, when asked for (read_assessment(with_previous=)).
    previous: PreviousView | None = None

    @cached_property
    def decisions(self) -> list[DecisionView]:
        return self.load_decisions()

    @cached_property
    def author_name(self) -> str:
        return self.load_author_name()

    @property
    def returned_with(self) -> DecisionView | None:
        """The supervisor's return while the assessment is being revised: from the return
        (state returned, then draft again from the first save) until it is submitted again."""
        if self.assessment.state not in (State.RETURNED.value, State.DRAFT.value):
            return None
        if not self.decisions or self.decisions[-1].decision != Action.RETURN.value:
            return None
        return self.decisions[-1]


def read_assessment(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    purpose: str = "read",
    details: dict[str, object] | None = None,
    *,
    with_previous: bool = False,
) -> AssessmentView:
    """Decrypt an assessment for display; `purpose` ("read" or "print") names the audit action,
    `details` (validated codes and ids only) go into its entry. With `with_previous`, a
    reassessment comes with the assessment it started from, to rate beside (its read is
    audited too)."""
    tag = f"case:assessment:{purpose}"
    check_readable(session, user, case, assessment, purpose)
    audit.append(
        session,
        user.as_actor(),
        tag,
        object_type="assessment",
        object_id=assessment.id,
        details=details,
    )
    previous = None
    if with_previous:
        previous = previous_of(session, vault, case, assessment)
        if previous is not None:
            audit.append(
                session,
                user.as_actor(),
                "case:assessment:read",
                object_type="assessment",
                object_id=previous.assessment.id,
                details={"purpose": "reassessment"},
            )
    return decrypted_view(session, vault, case, assessment, previous)


@cache
def _decisions_query() -> Select[ReviewDecision, str]:
    # Built once (see core.db): every view of a submitted or decided assessment runs it.
    return (
        select(ReviewDecision, User.display_name)
        .join(User, User.id == ReviewDecision.author_id)
        .where(ReviewDecision.assessment_id == bindparam("assessment_id"))
        .order_by(ReviewDecision.created_dt)
    )


def decrypted_view(
    session: Session,
    vault: Vault,
    case: Case,
    assessment: Assessment,
    previous: PreviousView | None = None,
) -> AssessmentView:
    """An assessment decrypted with its decisions, for a caller that has checked access and
    written the audit entry of this read (read_assessment, the register extract)."""

    def decisions() -> list[DecisionView]:
        rows = session.execute(_decisions_query(), {"assessment_id": assessment.id}).all()
        return [
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

    def author_name() -> str:
        return display_name(session, assessment.created_by_id) or ""

    return AssessmentView(
        assessment,
        open_content(session, vault, case, assessment),
        open_text(session, vault, case, assessment, "eligibility_reason"),
        open_text(session, vault, case, assessment, "correction_reason"),
        decisions,
        author_name,
        previous,
    )


@dataclass(frozen=True)
class QueueRow:
    """One submitted assessment in a supervisor's queue, with what needs attention."""

    assessment: Assessment
    case: Case
    caseworker: str  # who wrote the assessment
    child: CaseView  # the child's identity, unless protected (then identity is None)
    warnings: int  # consistency warnings of the instrument
    critical: int  # items marked critical
    outside_target_group: bool
    kind: str
    # Started by someone not registered as trained in the instrument.
    rater_not_registered: bool


def review_queue(
    session: Session,
    vault: Vault,
    user: User,
    instrument_of: Callable[[Assessment], Instrument],
) -> list[QueueRow]:
    """Submitted assessments of the supervisor's unit, oldest first, with their author, the
    child (a protected identity stays hidden, as in every list) and their warnings. Decrypting
    the identities and the content to count warnings is audited as one list read."""
    rows = session.execute(
        select(Assessment, Case, User.display_name)
        .join(Case, Case.id == Assessment.case_id)
        .join(User, User.id == Assessment.created_by_id)
        .where(Case.unit_id == user.unit_id, Assessment.state == State.SUBMITTED.value)
        .order_by(Assessment.submitted_dt)
    ).all()
    children = {
        view.case.id: view
        for view in listed_views(
            session, vault, user, list({c.id: c for _a, c, _n in rows}.values())
        )
    }
    queue = []
    for assessment, case, author in rows:
        content = open_content(session, vault, case, assessment)
        instrument = instrument_of(assessment)
        queue.append(
            QueueRow(
                assessment,
                case,
                author,
                children[case.id],
                len(applicable_rules(instrument, content)),
                sum(1 for r in content.items.values() if r.is_critical),
                assessment.eligibility_reason is not None,
                assessment.kind,
                assessment.is_rater_registered is False,
            )
        )
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:list",
        object_type="unit",
        object_id=user.unit_id,
        details={
            "assessments": [str(row.assessment.id) for row in queue],
            "cases": sorted(str(case_id) for case_id in children),
        },
    )
    return queue


def compare_assessments(
    session: Session, vault: Vault, user: User, case: Case, chosen: list[Assessment]
) -> list[tuple[Assessment, Content]]:
    """Up to four assessments of one case side by side, oldest first; one audited read."""
    if not may_read(session, user, case):
        raise refuse(session, user, "case:assessment:compare", case.id)
    ordered = sorted(chosen, key=lambda a: a.created_dt)[-MAX_COMPARED:]
    audit.append(
        session,
        user.as_actor(),
        "case:assessment:compare",
        object_type="case",
        object_id=case.id,
        details={"assessments": [str(a.id) for a in ordered]},
    )
    return [(a, open_content(session, vault, case, a)) for a in ordered]
