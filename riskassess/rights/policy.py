"""Who may make a register extract and edit the information text."""

from __future__ import annotations

from riskassess.accounts.models import User
from riskassess.cases.models import Case, CaseStatus
from riskassess.cases.policy import same_unit
from riskassess.core.permissions import Permission, role_has


def can_make_register_extract(user: User, case: Case) -> bool:
    """The supervisors of the child's unit: they answer the request, after a secrecy review.
    A merged duplicate has no extract of its own: its content is in the kept case's."""
    return (
        role_has(user.role, Permission.CASE_REGISTER_EXTRACT)
        and same_unit(user, case)
        and case.status != CaseStatus.MERGED
    )


def can_edit_information_text(user: User) -> bool:
    return role_has(user.role, Permission.INFORMATION_TEXT_EDIT)
