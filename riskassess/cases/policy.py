"""Who may do what with one case. Roles say what kind of action; the unit says on which case."""

from __future__ import annotations

from riskassess.accounts.models import User
from riskassess.cases.models import Case
from riskassess.core.permissions import Permission, role_has


def can_read_case(user: User, case: Case) -> bool:
    return role_has(user.role, Permission.CASE_READ) and user.unit_id == case.unit_id


def can_create_case(user: User) -> bool:
    return role_has(user.role, Permission.CASE_CREATE) and user.unit_id is not None
