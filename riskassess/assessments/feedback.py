"""Feeding the result of an approved assessment back to the child and the guardians, and
noting whether they agree (the child's right to information and to be heard: SoL, the
Convention on the Rights of the Child art. 12). Recorded after approval, beside the frozen
content, never edited afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import policy
from riskassess.assessments.bbic import HEARD_HOW
from riskassess.assessments.models import Assessment, Feedback
from riskassess.assessments.workflow import State
from riskassess.cases.models import Case
from riskassess.core import audit
from riskassess.core.db import new_id, utcnow
from riskassess.core.keys import Vault
from riskassess.errors import N_, AccessDenied, DomainError

RECIPIENTS = ("child", "guardians")
AGREEMENT = ("agrees", "partly", "disagrees", "not_stated")
ACTION = "case:assessment_feedback:create"
NOT_APPROVED = N_("Feedback can be recorded once the assessment is approved.")


@dataclass(frozen=True)
class FeedbackEntry:
    """What was fed back to whom, as the caseworker records it."""

    to: tuple[str, ...]
    on: date
    how: str
    agreement: str
    disagreement: str

    def to_json(self) -> dict[str, Any]:
        return {
            "to": list(self.to),
            "on": self.on.isoformat(),
            "how": self.how,
            "agreement": self.agreement,
            "disagreement": self.disagreement,
        }


@dataclass(frozen=True)
class RecordedFeedback(FeedbackEntry):
    """A feedback as stored, decrypted for display, with who recorded it and when."""

    author_name: str
    created_dt: datetime


def record_feedback(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    entry: FeedbackEntry,
) -> Feedback:
    """Record that the approved assessment's result was fed back. The entry's codes are
    checked here too, whatever the form let through."""
    if not policy.can_edit_assessment(user, case):
        audit.append_denial(session, user.as_actor(), ACTION, "assessment", assessment.id)
        raise AccessDenied(N_("You do not have access to this assessment."))
    if assessment.state != State.APPROVED.value:
        raise DomainError(NOT_APPROVED)
    valid = (
        entry.to
        and set(entry.to) <= set(RECIPIENTS)
        and entry.how in HEARD_HOW
        and entry.agreement in AGREEMENT
    )
    if not valid:
        raise ValueError("feedback codes outside their lists")
    feedback_id = new_id()
    feedback = Feedback(
        id=feedback_id,
        assessment_id=assessment.id,
        author_id=user.id,
        created_dt=utcnow(),
        content=vault.seal_json(
            session,
            case.data_key_id,
            entry.to_json(),
            "assessment_feedback",
            "content",
            feedback_id,
        ),
    )
    session.add(feedback)
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        ACTION,
        object_type="assessment",
        object_id=assessment.id,
        details={"to": "+".join(sorted(entry.to)), "agreement": entry.agreement},
    )
    return feedback


@cache
def _feedback_query() -> Select[Feedback, str]:
    # Built once (see core.db): every view of an approved assessment runs it.
    return (
        select(Feedback, User.display_name)
        .join(User, User.id == Feedback.author_id)
        .where(Feedback.assessment_id == bindparam("assessment_id"))
        .order_by(Feedback.created_dt, Feedback.id)
    )


def feedback_of(
    session: Session, vault: Vault, case: Case, assessment: Assessment
) -> list[RecordedFeedback]:
    """The feedback recorded for an assessment, oldest first. The caller has checked and
    audited the read of the assessment it belongs to."""
    rows = session.execute(_feedback_query(), {"assessment_id": assessment.id}).all()
    entries = []
    for row, author_name in rows:
        raw = vault.open_json(
            session, case.data_key_id, row.content, "assessment_feedback", "content", row.id
        )
        entries.append(
            RecordedFeedback(
                tuple(raw["to"]),
                date.fromisoformat(raw["on"]),
                raw["how"],
                raw["agreement"],
                raw.get("disagreement", ""),
                author_name,
                row.created_dt,
            )
        )
    return entries
