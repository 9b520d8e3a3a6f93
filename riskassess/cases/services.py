"""Use cases for case files. Services flush, append the audit entry, and never commit."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.accounts.services import display_name
from riskassess.assessments.models import Assessment
from riskassess.assessments.workflow import State
from riskassess.cases import policy
from riskassess.cases.identity import format_personnummer
from riskassess.cases.models import AccessKind, Case, CaseAccess, CaseStatus
from riskassess.core import audit
from riskassess.core.db import new_id, utcnow
from riskassess.core.keys import DataKey, UnreadableData, Vault, keep_loaded
from riskassess.core.permissions import Role
from riskassess.errors import N_, AccessDenied, DomainError

# Assessment states that still need work; a case with one of them cannot be closed.
OPEN_STATES = (State.DRAFT.value, State.SUBMITTED.value, State.RETURNED.value)
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def age_on(born: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class Identity:
    name: str
    personnummer: str  # normalized, 12 digits
    birth_date: date
    sex: str

    @property
    def personnummer_display(self) -> str:
        return format_personnummer(self.personnummer)

    def to_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "personnummer": self.personnummer,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex,
        }

    @classmethod
    def from_json(cls, raw: dict[str, str]) -> Identity:
        return cls(
            raw["name"], raw["personnummer"], date.fromisoformat(raw["birth_date"]), raw["sex"]
        )


@dataclass(frozen=True)
class CaseView:
    case: Case
    identity: Identity | None  # None: a protected identity not revealed for this view
    is_unreadable: bool = False  # the stored identity failed its integrity check
    # A closed case the user may not read (not its caseworker, no supervisor): no identity.
    is_closed_to_user: bool = False


# Why someone needs to see a protected identity or use emergency access. Codes go to the audit
# log; a free-text note, which may mention the child, is sealed under the case's key.
ACCESS_PURPOSES = ("case_handling", "supervision", "urgent_protection", "other")


def _new_reference() -> str:
    """A pseudonymous case number: says nothing about the child, cannot be enumerated."""
    return "RA-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(7))


def open_identity(session: Session, vault: Vault, case: Case) -> Identity:
    return Identity.from_json(
        vault.open_json(session, case.data_key_id, case.identity, "case_file", "identity", case.id)
    )


class CaseExists(DomainError):
    """The child already has a live case, so none is created. `case` is that case; a view
    tells someone of another unit only that a case exists there, never which."""

    def __init__(self, case: Case, *, same_unit: bool, reopened: bool = False) -> None:
        super().__init__(N_("The child already has a case."))
        self.case = case
        self.same_unit = same_unit
        self.reopened = reopened


def live_case(session: Session, vault: Vault, normalized_pnr: str) -> Case | None:
    """The child's one live case, in any unit, found through its claim on the number."""
    return _claimed(session, vault.blind_index(normalized_pnr))


def _claimed(session: Session, index: str) -> Case | None:
    return session.scalar(select(Case).where(Case.pnr_claim == index))


def _refuse_duplicate(session: Session, user: User, existing: Case) -> CaseExists:
    """Answer a second case for the same child. In one's own unit a closed case is reopened,
    since the child is back; the attempt is audited either way, with ids only."""
    same_unit = policy.same_unit(user, existing)
    reopened = same_unit and existing.status == CaseStatus.CLOSED
    if reopened:
        existing.status = CaseStatus.OPEN
        existing.closed_dt = None
        existing.updated_dt = utcnow()
        session.flush()
        audit.append(
            session,
            user.as_actor(),
            "case:case:reopen",
            object_type="case",
            object_id=existing.id,
        )
    audit.append(
        session,
        user.as_actor(),
        "case:case:create",
        object_type="case",
        object_id=existing.id,
        outcome=audit.Outcome.FAILURE,
        details={"exists": "own_unit" if same_unit else "other_unit"},
    )
    return CaseExists(existing, same_unit=same_unit, reopened=reopened)


def create_case(
    session: Session, vault: Vault, user: User, identity: Identity, is_protected: bool = False
) -> Case:
    """Open the child's case in the user's unit, or raise CaseExists if the child has one in
    any unit. The unique claim on the number settles a race: of two people creating the same
    child at once, the later insert fails inside its savepoint and gets the same answer."""
    if not policy.can_create_case(user):
        raise AccessDenied("You may not create cases.")
    assert user.unit_id is not None  # checked by the policy
    index = vault.blind_index(identity.personnummer)
    existing = _claimed(session, index)
    if existing is not None:
        raise _refuse_duplicate(session, user, existing)
    try:
        with session.begin_nested():
            case = _insert_case(session, vault, user, identity, index, is_protected)
    except IntegrityError:
        existing = _claimed(session, index)  # committed by the other request meanwhile
        if existing is None:
            raise
        raise _refuse_duplicate(session, user, existing) from None
    audit.append(
        session,
        user.as_actor(),
        "case:case:create",
        object_type="case",
        object_id=case.id,
        details={"protected": is_protected},
    )
    return case


def _insert_case(
    session: Session, vault: Vault, user: User, identity: Identity, index: str, is_protected: bool
) -> Case:
    assert user.unit_id is not None
    key = vault.create_data_key(session)
    case_id = new_id()
    now = utcnow()
    case = Case(
        id=case_id,
        reference=_new_reference(),
        unit_id=user.unit_id,
        data_key_id=key.id,
        created_by_id=user.id,
        assigned_to_id=user.id,
        is_protected=is_protected,
        status=CaseStatus.OPEN,
        created_dt=now,
        updated_dt=now,
        pnr_index=index,
        pnr_claim=index,
        identity=vault.seal_json(
            session, key.id, identity.to_json(), "case_file", "identity", case_id
        ),
    )
    session.add(case)
    session.flush()
    return case


def deny(session: Session, user: User, action: str, object_type: str, object_id: uuid.UUID) -> None:
    """Record a refused attempt; the caller then answers 403."""
    audit.append_denial(session, user.as_actor(), action, object_type, object_id)


def has_emergency_access(session: Session, user: User, case: Case) -> bool:
    """An unexpired emergency grant of this user to this case (outside the user's unit)."""
    return (
        session.scalar(
            select(CaseAccess.id)
            .where(
                CaseAccess.case_id == case.id,
                CaseAccess.user_id == user.id,
                CaseAccess.kind == AccessKind.EMERGENCY,
                CaseAccess.expires_dt > utcnow(),
            )
            .limit(1)
        )
        is not None
    )


def may_read(session: Session, user: User, case: Case) -> bool:
    """The unit rule, widened by an active emergency grant (only looked up when needed)."""
    if policy.can_read_case(user, case):
        return True
    return policy.can_read_case(user, case, emergency=has_emergency_access(session, user, case))


def read_case(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    reveal_purpose: str | None = None,
    reveal_note: str = "",
) -> CaseView:
    """Decrypt a case for display; the read is audited in the same transaction. A protected
    identity is decrypted only when a reason is given (`reveal_purpose`), which is recorded."""
    if not may_read(session, user, case):
        deny(session, user, "case:case:read", "case", case.id)
        raise AccessDenied("You do not have access to this case.")
    details: dict[str, object] = {}
    if not policy.same_unit(user, case):
        details["emergency"] = True
    identity, shown = shown_identity(session, vault, user, case, reveal_purpose, reveal_note)
    details.update(shown)
    audit.append(
        session,
        user.as_actor(),
        "case:case:read",
        object_type="case",
        object_id=case.id,
        details=details,
    )
    return CaseView(case, identity)


def shown_identity(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    reveal_purpose: str | None,
    reveal_note: str = "",
) -> tuple[Identity | None, dict[str, object]]:
    """The child's identity as a page that has already passed the read check may show it,
    under the protected-identity rule: an unprotected identity is shown, a protected one only
    with a stated reason (`reveal_purpose`) from someone allowed to see it, the access being
    recorded. Returns the identity (None: protected, not revealed) and the details for the
    caller's own audit entry of the view, which the caller writes in the same transaction."""
    if not case.is_protected:
        return open_identity(session, vault, case), {}
    if reveal_purpose is None:
        return None, {}
    if not policy.can_reveal_identity(user, case):
        deny(session, user, "case:identity:reveal", "case", case.id)
        raise AccessDenied("You may not see this protected identity.")
    if reveal_purpose not in ACCESS_PURPOSES:
        raise DomainError(N_("Choose the reason for viewing the protected identity."))
    access = _record_access(
        session, vault, user, case, AccessKind.PROTECTED, reveal_purpose, reveal_note
    )
    details: dict[str, object] = {
        "identity_shown": True,
        "purpose": reveal_purpose,
        "access": str(access.id),
    }
    return open_identity(session, vault, case), details


def eligibility_basis(session: Session, vault: Vault, case: Case) -> tuple[date, str]:
    """Birth date and sex, to offer the instruments meant for the child; never displayed."""
    identity = open_identity(session, vault, case)
    return identity.birth_date, identity.sex


def listed_views(session: Session, vault: Vault, user: User, cases: list[Case]) -> list[CaseView]:
    """The cases as rows of a list: a protected identity is never decrypted for a list, and a
    case whose data does not decrypt is shown as unreadable, with a failure entry in the log,
    instead of taking the whole list down with it. A closed case is decrypted only for those
    who may read it. The data keys come in one query."""
    closed_to_user = {c.id for c in cases if policy.is_case_closed_to(user, c)}
    vault.preload(
        session, [c.data_key_id for c in cases if not c.is_protected and c.id not in closed_to_user]
    )
    return [
        CaseView(case, None, is_closed_to_user=True)
        if case.id in closed_to_user
        else CaseView(case, None)
        if case.is_protected
        else _listed(session, vault, user, case)
        for case in cases
    ]


def _listed(session: Session, vault: Vault, user: User, case: Case) -> CaseView:
    try:
        return CaseView(case, open_identity(session, vault, case))
    except UnreadableData as exc:
        audit.append(
            session,
            user.as_actor(),
            exc.action,
            object_type=exc.object_type,
            object_id=exc.object_id,
            outcome=audit.Outcome.FAILURE,
            details=exc.details,
        )
        return CaseView(case, None, is_unreadable=True)


def _record_access(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    kind: str,
    purpose: str,
    note: str,
    expires: datetime | None = None,
) -> CaseAccess:
    access_id = new_id()
    access = CaseAccess(
        id=access_id,
        case_id=case.id,
        user_id=user.id,
        kind=kind,
        purpose=purpose,
        note=vault.seal_json(
            session, case.data_key_id, note.strip(), "case_access", "note", access_id
        )
        if note.strip()
        else None,
        granted_dt=utcnow(),
        expires_dt=expires,
    )
    session.add(access)
    session.flush()
    return access


def close_case(session: Session, user: User, case: Case) -> None:
    if not policy.can_close_case(user, case):
        deny(session, user, "case:case:close", "case", case.id)
        raise AccessDenied("You may not close this case.")
    if case.status == CaseStatus.CLOSED:
        raise DomainError(N_("The case is already closed."))
    open_work = session.scalar(
        select(func.count())
        .select_from(Assessment)
        .where(Assessment.case_id == case.id, Assessment.state.in_(OPEN_STATES))
    )
    if open_work:
        raise DomainError(
            N_("The case has assessments that are not finished: withdraw or complete them first.")
        )
    case.status = CaseStatus.CLOSED
    case.closed_dt = case.updated_dt = utcnow()
    session.flush()
    audit.append(session, user.as_actor(), "case:case:close", object_type="case", object_id=case.id)


def assignable_staff(session: Session, case: Case) -> list[User]:
    """The caseworkers a case of this unit can be given to, by name."""
    staff = session.scalars(
        select(User)
        .where(User.unit_id == case.unit_id, User.role == Role.CASEWORKER)
        .order_by(User.display_name, User.username)
    )
    return [member for member in staff if policy.may_be_assigned(member, case)]


def assign_case(session: Session, user: User, case: Case, assignee_id: uuid.UUID) -> User:
    """A supervisor makes a caseworker of the unit responsible for the case. Audited with the
    ids of the caseworkers before and after, nothing else."""
    if not policy.can_assign_case(user, case):
        deny(session, user, "case:case:assign", "case", case.id)
        raise AccessDenied("You may not assign this case.")
    assignee = session.get(User, assignee_id)
    if assignee is None or not policy.may_be_assigned(assignee, case):
        raise DomainError(N_("Choose an active caseworker of the case's unit."))
    if assignee.id == case.assigned_to_id:
        raise DomainError(N_("The case is already assigned to that caseworker."))
    previous = case.assigned_to_id
    case.assigned_to_id = assignee.id
    case.updated_dt = utcnow()
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:case:assign",
        object_type="case",
        object_id=case.id,
        details={"from": None if previous is None else str(previous), "to": str(assignee.id)},
    )
    return assignee


def get_case(session: Session, case_id: uuid.UUID) -> Case | None:
    """The case, with its data key's row loaded beside it in the same query: nearly every
    view of a case decrypts something, and the key is then found without a query of its own."""
    row = session.execute(_case_query(), {"case_id": case_id}).first()
    if row is None:
        return None
    keep_loaded(session, row[1])
    return row[0]


@cache
def _case_query() -> Select[Case, DataKey]:
    # Built once (see core.db).
    return (
        select(Case, DataKey)
        .outerjoin(DataKey, DataKey.id == Case.data_key_id)
        .where(Case.id == bindparam("case_id"))
    )


def caseworker_name(session: Session, case: Case) -> str | None:
    """The responsible caseworker's name, None when nobody is assigned."""
    if case.assigned_to_id is None:
        return None
    return display_name(session, case.assigned_to_id)


def set_protection(session: Session, user: User, case: Case, protected: bool) -> None:
    if not policy.can_set_protection(user, case):
        deny(session, user, "case:case:protect", "case", case.id)
        raise AccessDenied("You may not change the protection of this case.")
    case.is_protected = protected
    case.updated_dt = utcnow()
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:case:protect",
        object_type="case",
        object_id=case.id,
        details={"protected": protected},
    )


EMERGENCY_HOURS = 4


def grant_emergency_access(
    session: Session, vault: Vault, user: User, normalized_pnr: str, purpose: str, note: str
) -> Case | None:
    """Nödåtkomst: open a case outside one's unit, found by personnummer, for a few hours.
    Needs a purpose; audited and flagged for the case unit's supervisors to follow up."""
    if not policy.can_request_emergency_access(user):
        raise AccessDenied("You may not use emergency access.")
    if purpose not in ACCESS_PURPOSES:
        raise DomainError(N_("Choose the reason for emergency access."))
    if not note.strip():
        raise DomainError(N_("Describe why emergency access is needed."))
    case = session.scalar(
        select(Case)
        .where(Case.pnr_index == vault.blind_index(normalized_pnr), Case.unit_id != user.unit_id)
        .where(Case.status != CaseStatus.MERGED)
        # The claimed case first: it holds the child's work; an unmerged duplicate after it.
        .order_by(Case.pnr_claim.is_(None), Case.updated_dt.desc())
        .limit(1)
    )
    if case is None:
        audit.append(
            session,
            user.as_actor(),
            "case:case:emergency",
            outcome=audit.Outcome.FAILURE,
            details={"purpose": purpose, "found": False},
        )
        return None
    if case.status == CaseStatus.CLOSED:
        # A closed case is read only by its caseworker and its unit's supervisors
        # (policy.is_case_closed_to): emergency access does not open it either.
        audit.append(
            session,
            user.as_actor(),
            "case:case:emergency",
            object_type="case",
            object_id=case.id,
            outcome=audit.Outcome.DENIED,
            details={"purpose": purpose, "closed": True},
        )
        raise DomainError(
            N_(
                "The child's case in another unit is closed. A closed case is read only by its"
                " caseworker and that unit's supervisors: contact that unit, or ask for the case"
                " to be transferred."
            )
        )
    expires = utcnow() + timedelta(hours=EMERGENCY_HOURS)
    access = _record_access(
        session, vault, user, case, AccessKind.EMERGENCY, purpose, note, expires
    )
    audit.append(
        session,
        user.as_actor(),
        "case:case:emergency",
        object_type="case",
        object_id=case.id,
        details={"purpose": purpose, "access": str(access.id), "flagged": True},
    )
    return case


def emergency_accesses_to_review(
    session: Session, user: User
) -> list[tuple[CaseAccess, Case, str]]:
    """Unreviewed emergency accesses to cases of the supervisor's unit, oldest first."""
    rows = session.execute(
        select(CaseAccess, Case, User.display_name)
        .join(Case, Case.id == CaseAccess.case_id)
        .join(User, User.id == CaseAccess.user_id)
        .where(
            Case.unit_id == user.unit_id,
            CaseAccess.kind == AccessKind.EMERGENCY,
            CaseAccess.reviewed_dt.is_(None),
        )
        .order_by(CaseAccess.granted_dt)
    ).all()
    return [(access, case, name) for access, case, name in rows]


def review_emergency_access(session: Session, user: User, access: CaseAccess) -> None:
    case = session.get(Case, access.case_id)
    if case is None or not policy.can_set_protection(user, case):
        deny(session, user, "case:access:review", "case_access", access.id)
        raise AccessDenied("You may not review this access.")
    if access.reviewed_dt is not None:
        raise DomainError(N_("This access has already been reviewed."))
    access.reviewed_by_id = user.id
    access.reviewed_dt = utcnow()
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:access:review",
        object_type="case_access",
        object_id=access.id,
    )


def find_by_personnummer(
    session: Session, vault: Vault, user: User, normalized_pnr: str
) -> list[Case]:
    """The cases of the user's own unit with this personnummer, found through the blind index.

    Cases in other units are not searched at all, so the answer never reveals that a child has
    a case elsewhere (emergency access is the separate, flagged way to reach one). The search
    is audited with the cases it found; the number itself is never recorded. A closed case the
    user may not read is found too (its number and status only, as in the case list), so that
    nobody opens a second case for a child the unit already knows.
    """
    if not policy.can_search_cases(user):
        raise AccessDenied("You may not search for cases.")
    found = list(
        session.scalars(
            select(Case)
            .where(Case.pnr_index == vault.blind_index(normalized_pnr))
            .where(Case.unit_id == user.unit_id, Case.status != CaseStatus.MERGED)
            .order_by(Case.created_dt.desc())
        )
    )
    audit.append(
        session,
        user.as_actor(),
        "case:case:search",
        object_type="unit",
        object_id=user.unit_id,
        details={"cases": [str(c.id) for c in found]},
    )
    return found
