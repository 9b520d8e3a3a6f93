"""Who may read which part of the audit log. Roles say what kind of reading; for one case's
access log (loggutdrag) a supervisor must also belong to the case's unit."""

from __future__ import annotations

from riskassess.accounts.models import User
from riskassess.cases.models import Case
from riskassess.core.permissions import Permission, role_has


def can_read_log(user: User) -> bool:
    return role_has(user.role, Permission.AUDIT_LOG_READ)


def can_export_log(user: User) -> bool:
    return role_has(user.role, Permission.AUDIT_LOG_EXPORT)


def can_review_samples(user: User) -> bool:
    return role_has(user.role, Permission.AUDIT_SAMPLE_REVIEW)


def can_read_case_access_log(user: User, case: Case) -> bool:
    if not role_has(user.role, Permission.CASE_ACCESS_LOG_READ):
        return False
    if can_read_log(user):
        return True  # auditors check every unit
    return user.unit_id is not None and user.unit_id == case.unit_id
