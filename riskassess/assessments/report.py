"""The printed report of an assessment, for the case file: the assessment with the child's
identity (under the protected-identity rule), everyone who wrote the draft, and the
plain-text "samlad bedömning". Opening it is audited as a print."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments.models import Assessment, AssessmentEditor
from riskassess.assessments.reading import AssessmentView, read_assessment
from riskassess.assessments.services import check_readable
from riskassess.cases.models import Case
from riskassess.cases.services import Identity, shown_identity
from riskassess.core.keys import Vault


@dataclass(frozen=True)
class ReportView:
    view: AssessmentView
    # None: a protected identity, not revealed for this print.
    identity: Identity | None
    # Everyone who saved the draft, in the order they first did.
    editors: list[str]
    include_research: bool


def editor_names(session: Session, assessment: Assessment) -> list[str]:
    """The display names of everyone who wrote the assessment's content, first writer first."""
    return list(
        session.scalars(
            select(User.display_name)
            .join(AssessmentEditor, AssessmentEditor.user_id == User.id)
            .where(AssessmentEditor.assessment_id == assessment.id)
            .order_by(AssessmentEditor.first_edit_dt, User.display_name)
        )
    )


def read_report(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    assessment: Assessment,
    *,
    reveal_purpose: str | None = None,
    reveal_note: str = "",
    include_research: bool = False,
) -> ReportView:
    """Decrypt an assessment for its printed report, audited as `case:assessment:print`.

    The child's identity follows the case page's rule (`cases.services.shown_identity`): a
    protected identity is printed only with a stated reason, recorded as an access and noted
    in the print's audit entry. Whether the research index was asked for is noted too."""
    check_readable(session, user, case, assessment, "print")
    identity, details = shown_identity(session, vault, user, case, reveal_purpose, reveal_note)
    if include_research:
        details["research_index"] = True
    view = read_assessment(
        session, vault, user, case, assessment, purpose="print", details=details or None
    )
    editors = editor_names(session, assessment) or [view.author_name]
    return ReportView(view, identity, editors, include_research)
