"""Who may do what with the assessments of one case."""

from __future__ import annotations

from riskassess.accounts.models import User
from riskassess.cases.models import Case, CaseStatus
from riskassess.cases.policy import is_case_closed_to
from riskassess.core.permissions import Permission, role_has


def _same_unit(user: User, case: Case) -> bool:
    return user.unit_id is not None and user.unit_id == case.unit_id


def can_read_assessment(user: User, case: Case, emergency: bool = False) -> bool:
    """Staff of the case's unit, or someone holding an active emergency grant to the case;
    in a closed case only its responsible caseworker and the unit's supervisors."""
    return (
        role_has(user.role, Permission.ASSESSMENT_READ)
        and (_same_unit(user, case) or emergency)
        and not is_case_closed_to(user, case)
    )


def can_start_assessment(user: User, case: Case) -> bool:
    return (
        role_has(user.role, Permission.ASSESSMENT_CREATE)
        and _same_unit(user, case)
        and case.status == CaseStatus.OPEN
    )


def can_edit_assessment(user: User, case: Case) -> bool:
    return (
        role_has(user.role, Permission.ASSESSMENT_EDIT)
        and _same_unit(user, case)
        and not is_case_closed_to(user, case)
    )


def can_review_assessment(user: User, case: Case) -> bool:
    return role_has(user.role, Permission.ASSESSMENT_REVIEW) and _same_unit(user, case)


def can_mark_follow_up(user: User, case: Case) -> bool:
    """Mark a follow-up of an approved plan as done: the caseworkers and supervisors of the
    case's unit."""
    return (
        role_has(user.role, Permission.FOLLOW_UP_DONE)
        and _same_unit(user, case)
        and not is_case_closed_to(user, case)
    )
