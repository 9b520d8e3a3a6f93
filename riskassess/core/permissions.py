"""The permission vocabulary (`scope:object:verb`) and the role map.

A role grants permissions on a kind of thing; whether a user may act on one particular case is
decided by the feature's policy (same unit, and so on). Anything not granted here is denied.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CASE_LIST = "case:case:list"
    CASE_CREATE = "case:case:create"
    CASE_READ = "case:case:read"
    CASE_CLOSE = "case:case:close"
    CASE_PROTECT = "case:case:protect"
    CASE_EMERGENCY = "case:case:emergency"
    CASE_SEARCH = "case:case:search"
    CASE_RETENTION_HOLD = "case:retention:hold"
    # A supervisor gives a case of the unit to one of its caseworkers.
    CASE_ASSIGN = "case:case:assign"
    # Mark a follow-up date of an approved plan as done.
    FOLLOW_UP_DONE = "case:follow_up:done"
    CASE_MERGE = "case:case:merge"
    CASE_TRANSFER_DECIDE = "case:transfer:decide"
    # A register extract (registerutdrag, GDPR art. 15) of one child's case.
    CASE_REGISTER_EXTRACT = "case:register_extract:create"
    ASSESSMENT_CREATE = "case:assessment:create"
    ASSESSMENT_READ = "case:assessment:read"
    ASSESSMENT_EDIT = "case:assessment:edit"
    ASSESSMENT_SUBMIT = "case:assessment:submit"
    ASSESSMENT_REVIEW = "case:assessment:review"
    INSTRUMENT_READ = "instrument:definition:read"
    USER_LIST = "admin:user:list"
    USER_MANAGE = "admin:user:update"
    # The register of trained raters: which instruments a user is trained in. Administrators
    # for every user, supervisors for their own unit's staff (accounts/policy.py).
    TRAINING_MANAGE = "account:training:manage"
    AUDIT_LOG_READ = "audit:log:read"
    AUDIT_LOG_EXPORT = "audit:log:export"
    AUDIT_SAMPLE_REVIEW = "audit:sample:review"
    CASE_ACCESS_LOG_READ = "audit:case_log:read"
    # Every user may end their own sessions on every device ("log out everywhere").
    SESSIONS_END = "account:session:revoke"
    # Every user sets up their own second factor and renews their recovery codes.
    MFA_OWN = "account:mfa:update"
    # Course sessions with fictional vignettes (demo mode only): create, reveal, export.
    COURSE_RUN = "training:course:manage"
    # The information text for children and guardians (GDPR art. 13/14); reading is public.
    INFORMATION_TEXT_EDIT = "admin:information_text:update"
    # Follow-up statistics without names: aggregates of approved assessments, small counts
    # hidden (reports/). Supervisors for their own unit, managers for every unit.
    REPORT_READ = "report:statistics:read"
    REPORT_EXPORT = "report:statistics:export"


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    TRAINER = "trainer"
    ADMIN = "admin"
    AUDITOR = "auditor"
    # Enhetschef or förvaltning: follows up across units, never sees a case.
    MANAGER = "manager"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: frozenset(
        {
            Permission.CASE_LIST,
            Permission.CASE_CREATE,
            Permission.CASE_READ,
            Permission.CASE_SEARCH,
            Permission.CASE_CLOSE,
            Permission.CASE_EMERGENCY,
            Permission.ASSESSMENT_CREATE,
            Permission.ASSESSMENT_READ,
            Permission.ASSESSMENT_EDIT,
            Permission.ASSESSMENT_SUBMIT,
            Permission.INSTRUMENT_READ,
            Permission.FOLLOW_UP_DONE,
        }
    ),
    Role.SUPERVISOR: frozenset(
        {
            Permission.CASE_LIST,
            Permission.CASE_READ,
            Permission.CASE_SEARCH,
            Permission.CASE_RETENTION_HOLD,
            Permission.CASE_CLOSE,
            Permission.CASE_PROTECT,
            Permission.CASE_MERGE,
            Permission.CASE_TRANSFER_DECIDE,
            Permission.CASE_EMERGENCY,
            Permission.ASSESSMENT_READ,
            Permission.ASSESSMENT_REVIEW,
            Permission.INSTRUMENT_READ,
            Permission.CASE_ACCESS_LOG_READ,
            Permission.TRAINING_MANAGE,
            Permission.CASE_ASSIGN,
            Permission.FOLLOW_UP_DONE,
            Permission.CASE_REGISTER_EXTRACT,
            Permission.REPORT_READ,
            Permission.REPORT_EXPORT,
        }
    ),
    # Trainers work with fictional vignettes only; they never see case data.
    Role.TRAINER: frozenset({Permission.INSTRUMENT_READ, Permission.COURSE_RUN}),
    # Administrators manage accounts, not children's cases.
    Role.ADMIN: frozenset(
        {
            Permission.USER_LIST,
            Permission.USER_MANAGE,
            Permission.INSTRUMENT_READ,
            Permission.TRAINING_MANAGE,
            Permission.INFORMATION_TEXT_EDIT,
        }
    ),
    # Auditors (loggkontroll) read the audit log of every unit, never the cases themselves.
    Role.AUDITOR: frozenset(
        {
            Permission.AUDIT_LOG_READ,
            Permission.AUDIT_LOG_EXPORT,
            Permission.AUDIT_SAMPLE_REVIEW,
            Permission.CASE_ACCESS_LOG_READ,
            Permission.INSTRUMENT_READ,
        }
    ),
    # Managers see aggregates of every unit, never a case, a name or a single assessment.
    Role.MANAGER: frozenset(
        {Permission.REPORT_READ, Permission.REPORT_EXPORT, Permission.INSTRUMENT_READ}
    ),
}


EVERY_ROLE = frozenset({Permission.SESSIONS_END, Permission.MFA_OWN})


def role_has(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)] | EVERY_ROLE
    except ValueError:
        return False
