"""Who may do what with one case. Roles say what kind of action; the unit says on which case;
an emergency grant or the protected-identity rule narrows or widens that for one case."""

from __future__ import annotations

from riskassess.accounts.models import User
from riskassess.cases.models import Case, CaseStatus
from riskassess.core.permissions import Permission, Role, role_has


def same_unit(user: User, case: Case) -> bool:
    return user.unit_id is not None and user.unit_id == case.unit_id


def is_case_closed_to(user: User, case: Case) -> bool:
    """A closed case is read only by its responsible caseworker and the supervisors of its
    unit: nobody else works on it any longer, so nobody else needs its data. This holds for
    emergency access too: break-the-glass is for a child who needs help now, and a child who
    is back is helped through a reopened case (or a transfer), not through an old file."""
    if case.status != CaseStatus.CLOSED:
        return False
    if not same_unit(user, case):
        return True
    return not (user.id == case.assigned_to_id or user.role == Role.SUPERVISOR)


def can_read_case(user: User, case: Case, emergency: bool = False) -> bool:
    """Read the case: staff of its unit, or someone holding an active emergency grant; a
    closed case only its responsible caseworker and the unit's supervisors."""
    return (
        role_has(user.role, Permission.CASE_READ)
        and (same_unit(user, case) or emergency)
        and not is_case_closed_to(user, case)
    )


def can_create_case(user: User) -> bool:
    return role_has(user.role, Permission.CASE_CREATE) and user.unit_id is not None


def identity_needs_reason(user: User, case: Case) -> bool:
    """A protected identity is never shown in passing: each view states a reason."""
    return case.is_protected


def can_reveal_identity(user: User, case: Case) -> bool:
    """Protected identity: only the assigned caseworker and the unit's supervisors."""
    if not case.is_protected:
        return True
    if not same_unit(user, case):
        return False
    return user.id == case.assigned_to_id or user.role == Role.SUPERVISOR


def can_close_case(user: User, case: Case) -> bool:
    return (
        role_has(user.role, Permission.CASE_CLOSE)
        and same_unit(user, case)
        and case.status != CaseStatus.MERGED
    )


def can_set_protection(user: User, case: Case) -> bool:
    return role_has(user.role, Permission.CASE_PROTECT) and same_unit(user, case)


def can_request_emergency_access(user: User) -> bool:
    return role_has(user.role, Permission.CASE_EMERGENCY)


def can_hold_retention(user: User, case: Case) -> bool:
    """Hold or release a case's gallring: the supervisors of its unit."""
    return role_has(user.role, Permission.CASE_RETENTION_HOLD) and same_unit(user, case)


def can_search_cases(user: User) -> bool:
    """Search by personnummer, within one's own unit."""
    return role_has(user.role, Permission.CASE_SEARCH) and user.unit_id is not None


def can_assign_case(user: User, case: Case) -> bool:
    """Give the case to a caseworker: the supervisors of its unit."""
    return role_has(user.role, Permission.CASE_ASSIGN) and same_unit(user, case)


def may_be_assigned(staff: User, case: Case) -> bool:
    """Who can be responsible for a case: an active caseworker of its unit."""
    return staff.role == Role.CASEWORKER and same_unit(staff, case) and staff.is_active


def can_list_duplicates(user: User) -> bool:
    return role_has(user.role, Permission.CASE_MERGE) and user.unit_id is not None


def can_merge_cases(user: User, case: Case) -> bool:
    """Merge duplicates: the supervisors of the unit that holds both cases."""
    return role_has(user.role, Permission.CASE_MERGE) and same_unit(user, case)


def can_request_transfer(user: User) -> bool:
    """Ask another unit for a child's case: whoever may open cases in a unit."""
    return can_create_case(user)


def can_decide_transfer(user: User, case: Case) -> bool:
    """Accept or decline a transfer: the supervisors of the unit that holds the case."""
    return role_has(user.role, Permission.CASE_TRANSFER_DECIDE) and same_unit(user, case)
