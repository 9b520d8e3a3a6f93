"""One child, one case: duplicates left from before the rule, their merging, and transfers of
a child's case between units.

Merging moves every assessment (with its review decisions) and a retention hold to the kept
case. Their sealed values are re-sealed under the kept case's data key, so that the kept case's
one key opens all its data and its gallring (which destroys that key) shreds all of it. The
merged case stays as a tombstone (status `merged`, `merged_into_id`) with its own key: its
identity and the notes of accesses made to it stay as they were, so old audit entries and
access records still resolve; the tombstone is deleted by gallring like any case.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from riskassess.accounts.models import Unit, User
from riskassess.assessments.models import Assessment, ReviewDecision
from riskassess.cases import policy
from riskassess.cases.models import Case, CaseStatus, CaseTransfer, RetentionHold, TransferState
from riskassess.cases.services import deny, live_case
from riskassess.core import audit
from riskassess.core.db import new_id, utcnow
from riskassess.core.keys import Vault
from riskassess.errors import N_, AccessDenied, DomainError

# The sealed columns of an assessment, re-sealed when it moves to another case.
_ASSESSMENT_SEALED = ("content", "eligibility_reason", "correction_reason")


@dataclass(frozen=True)
class DuplicateCase:
    case: Case
    assessments: int
    is_claimed: bool  # holds the child's number; the others were made before the rule


def duplicate_groups(session: Session, user: User) -> list[list[DuplicateCase]]:
    """The unit's live cases that share a child with another live case of the unit, grouped,
    oldest first. Shows plaintext metadata only; the listing is audited with the case ids."""
    if not policy.can_list_duplicates(user):
        raise AccessDenied("You may not merge cases.")
    live = (Case.unit_id == user.unit_id, Case.status != CaseStatus.MERGED)
    shared = select(Case.pnr_index).where(*live).group_by(Case.pnr_index).having(func.count() > 1)
    counts = (
        select(Assessment.case_id, func.count().label("n")).group_by(Assessment.case_id).subquery()
    )
    rows = session.execute(
        select(Case, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.case_id == Case.id)
        .where(*live, Case.pnr_index.in_(shared))
        .order_by(Case.pnr_index, Case.created_dt, Case.id)
    ).all()
    groups = [
        [DuplicateCase(case, int(n), case.pnr_claim is not None) for case, n in group]
        for _index, group in itertools.groupby(rows, key=lambda row: row[0].pnr_index)
    ]
    audit.append(
        session,
        user.as_actor(),
        "case:duplicate:list",
        object_type="unit",
        object_id=user.unit_id,
        details={"cases": [str(d.case.id) for group in groups for d in group]},
    )
    return groups


def merge_cases(session: Session, vault: Vault, user: User, kept: Case, merged: Case) -> None:
    """Merge `merged` into `kept`: both of the supervisor's unit, the same child, both live."""
    for case in (kept, merged):
        if not policy.can_merge_cases(user, case):
            deny(session, user, "case:case:merge", "case", case.id)
            raise AccessDenied("You may not merge these cases.")
    if kept.id == merged.id:
        raise DomainError(N_("Choose two different cases to merge."))
    if CaseStatus.MERGED in (kept.status, merged.status):
        raise DomainError(N_("One of the cases has already been merged."))
    if kept.pnr_index != merged.pnr_index:
        raise DomainError(N_("The cases are not of the same child: they cannot be merged."))
    moved = session.scalars(
        select(Assessment).where(Assessment.case_id == merged.id).order_by(Assessment.created_dt)
    ).all()
    for assessment in moved:
        _move_assessment(session, vault, merged, kept, assessment)
    hold_moved = _move_hold(session, vault, merged, kept)
    now = utcnow()
    merged.status = CaseStatus.MERGED
    merged.merged_into_id = kept.id
    merged.pnr_claim = None
    merged.updated_dt = now
    session.flush()  # free the claim before the kept case takes it
    kept.pnr_claim = kept.pnr_index
    # Nothing is lost: a protection, or open work, of either case holds for the kept one.
    kept.is_protected = kept.is_protected or merged.is_protected
    if kept.status == CaseStatus.CLOSED and any(
        a.state in ("draft", "submitted", "returned") for a in moved
    ):
        kept.status, kept.closed_dt = CaseStatus.OPEN, None
    kept.updated_dt = now
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:case:merge",
        object_type="case",
        object_id=kept.id,
        details={
            "merged": str(merged.id),
            "assessments": [str(a.id) for a in moved],
            "hold_moved": hold_moved,
        },
    )


def _reseal(
    session: Session,
    vault: Vault,
    moved: tuple[Case, Case],
    blob: bytes,
    where: tuple[str, str, uuid.UUID],
) -> bytes:
    """Open a value under the first case's key and seal it under the second's, bound to the
    same table, column and row as before."""
    source, target = moved
    table, column, row = where
    value = vault.open_json(session, source.data_key_id, blob, table, column, row)
    return vault.seal_json(session, target.data_key_id, value, table, column, row)


def _move_assessment(
    session: Session, vault: Vault, source: Case, target: Case, assessment: Assessment
) -> None:
    moved = (source, target)
    for column in _ASSESSMENT_SEALED:
        blob = getattr(assessment, column)
        if blob is not None:
            where = ("assessment", column, assessment.id)
            setattr(assessment, column, _reseal(session, vault, moved, blob, where))
    for decision in session.scalars(
        select(ReviewDecision).where(ReviewDecision.assessment_id == assessment.id)
    ):
        where = ("review_decision", "comment", decision.id)
        decision.comment = _reseal(session, vault, moved, decision.comment, where)
    assessment.case_id = target.id


def _move_hold(session: Session, vault: Vault, source: Case, target: Case) -> bool:
    """A hold on the merged case moves to the kept one, unless that has its own."""
    hold = session.get(RetentionHold, source.id)
    if hold is None or session.get(RetentionHold, target.id) is not None:
        return False
    note = None
    if hold.note is not None:  # bound to the case's row: re-sealed for the new row
        text = vault.open_json(
            session, source.data_key_id, hold.note, "retention_hold", "note", source.id
        )
        note = vault.seal_json(
            session, target.data_key_id, text, "retention_hold", "note", target.id
        )
    session.add(
        RetentionHold(
            case_id=target.id,
            reason=hold.reason,
            note=note,
            placed_by_id=hold.placed_by_id,
            placed_dt=hold.placed_dt,
        )
    )
    session.delete(hold)
    session.flush()
    return True


def request_transfer(
    session: Session, vault: Vault, user: User, normalized_pnr: str
) -> CaseTransfer:
    """Ask the unit that holds the child's case to hand it over. Tells the requester nothing
    more than the "exists" answer did; the request names the case by id only."""
    if not policy.can_request_transfer(user):
        raise AccessDenied("You may not request transfers.")
    assert user.unit_id is not None
    case = live_case(session, vault, normalized_pnr)
    if case is None:
        raise DomainError(N_("No other unit has a case with that personal identity number."))
    if policy.same_unit(user, case):
        raise DomainError(N_("The case is already in your unit."))
    waiting = session.scalar(
        select(CaseTransfer.id).where(
            CaseTransfer.case_id == case.id,
            CaseTransfer.to_unit_id == user.unit_id,
            CaseTransfer.state == TransferState.PENDING,
        )
    )
    if waiting is not None:
        raise DomainError(N_("Your unit has already asked for this case: the request is waiting."))
    transfer = CaseTransfer(
        id=new_id(),
        case_id=case.id,
        from_unit_id=case.unit_id,
        to_unit_id=user.unit_id,
        requested_by_id=user.id,
        requested_dt=utcnow(),
        state=TransferState.PENDING,
    )
    session.add(transfer)
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:transfer:request",
        object_type="case_transfer",
        object_id=transfer.id,
        details={"case": str(case.id), "to_unit": str(user.unit_id)},
    )
    return transfer


@dataclass(frozen=True)
class PendingTransfer:
    transfer: CaseTransfer
    case: Case
    requested_by: str
    to_unit: str
    requested_dt: datetime


def transfers_to_decide(session: Session, user: User) -> list[PendingTransfer]:
    """Waiting requests for the cases of the supervisor's unit, oldest first."""
    requester = aliased(User)
    rows = session.execute(
        select(CaseTransfer, Case, requester.display_name, Unit.name)
        .join(Case, Case.id == CaseTransfer.case_id)
        .join(requester, requester.id == CaseTransfer.requested_by_id)
        .join(Unit, Unit.id == CaseTransfer.to_unit_id)
        .where(Case.unit_id == user.unit_id, CaseTransfer.state == TransferState.PENDING)
        .order_by(CaseTransfer.requested_dt)
    ).all()
    return [PendingTransfer(t, c, name, unit, t.requested_dt) for t, c, name, unit in rows]


def decide_transfer(session: Session, user: User, transfer: CaseTransfer, accept: bool) -> None:
    """Accept (the case moves to the requesting unit, assigned to the requester) or decline."""
    case = session.get(Case, transfer.case_id)
    if case is None or not policy.can_decide_transfer(user, case):
        deny(session, user, "case:transfer:decide", "case_transfer", transfer.id)
        raise AccessDenied("You may not decide this transfer.")
    if transfer.state != TransferState.PENDING:
        raise DomainError(N_("The transfer request has already been decided."))
    if case.unit_id != transfer.from_unit_id or case.status == CaseStatus.MERGED:
        raise DomainError(N_("The case has changed since the request: ask for a new one."))
    now = utcnow()
    transfer.state = TransferState.ACCEPTED if accept else TransferState.DECLINED
    transfer.decided_by_id = user.id
    transfer.decided_dt = now
    if accept:
        case.unit_id = transfer.to_unit_id
        case.assigned_to_id = transfer.requested_by_id
        case.updated_dt = now
    session.flush()
    audit.append(
        session,
        user.as_actor(),
        "case:transfer:accept" if accept else "case:transfer:decline",
        object_type="case_transfer",
        object_id=transfer.id,
        details={"case": str(case.id), "to_unit": str(transfer.to_unit_id)},
    )


def load_transfer(session: Session, transfer_id: uuid.UUID) -> CaseTransfer | None:
    return session.get(CaseTransfer, transfer_id)
