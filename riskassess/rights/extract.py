"""The registerutdrag (GDPR art. 15): everything the system holds about one child, decrypted,
with the access log for that child, as one document.

A supervisor of the child's unit makes it, and the authority hands it out only after a
secrecy review (OSL): the document says so. Making it is audited with ids and counts only.
The same extract is rendered as a printable page and as a JSON file; `extract_json` is the
file's content.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from riskassess.accounts.models import Unit, User
from riskassess.assessments.content import Content
from riskassess.assessments.feedback import RecordedFeedback, feedback_of
from riskassess.assessments.models import Assessment, FollowUp
from riskassess.assessments.reading import AssessmentView, decrypted_view
from riskassess.audit_log.services import LogRow, case_log_rows
from riskassess.cases import retention
from riskassess.cases import services as cases
from riskassess.cases.identity import is_coordination_number
from riskassess.cases.models import Case, CaseAccess, CaseStatus, CaseTransfer
from riskassess.core import audit
from riskassess.core.db import utcnow
from riskassess.core.keys import Vault
from riskassess.errors import N_, AccessDenied
from riskassess.instruments.definition import Instrument
from riskassess.rights import policy

ACTION = "case:register_extract:create"
FORMATS = ("html", "json")
FORMAT_VERSION = 1  # of the JSON file: raised when a field changes meaning


@dataclass(frozen=True)
class ExtractAssessment:
    view: AssessmentView
    instrument: Instrument
    follow_ups: list[FollowUpLine]
    feedback: list[RecordedFeedback]


@dataclass(frozen=True)
class FollowUpLine:
    plan_row: int
    due_on: date
    done_dt: datetime | None
    done_by: str | None


@dataclass(frozen=True)
class TransferLine:
    case_reference: str
    from_unit: str
    to_unit: str
    requested_by: str
    requested_dt: datetime
    state: str
    decided_by: str | None
    decided_dt: datetime | None


@dataclass(frozen=True)
class MergedLine:
    reference: str
    created_dt: datetime
    merged_dt: datetime


@dataclass(frozen=True)
class AccessLine:
    """An access that needed a stated reason: emergency access or a protected-identity view."""

    case_reference: str
    kind: str
    user: str
    purpose: str
    note: str
    granted_dt: datetime
    expires_dt: datetime | None
    reviewed_by: str | None
    reviewed_dt: datetime | None


@dataclass(frozen=True)
class RegisterExtract:
    made_dt: datetime
    made_by: str
    case: Case
    unit_name: str
    identity: cases.Identity
    is_coordination_number: bool
    caseworker: str | None
    retention: retention.RetentionStatus
    assessments: list[ExtractAssessment]
    transfers: list[TransferLine]
    merged: list[MergedLine]
    accesses: list[AccessLine]
    log: list[LogRow]


def _names(session: Session, *groups: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = list({i for group in groups for i in group if i is not None})
    if not wanted:
        return {}
    return dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all()
    )


def _assessments(
    session: Session,
    vault: Vault,
    case: Case,
    instrument_of: Callable[[Assessment], Instrument],
) -> list[ExtractAssessment]:
    found = session.scalars(
        select(Assessment).where(Assessment.case_id == case.id).order_by(Assessment.created_dt)
    ).all()
    follow_ups = session.scalars(
        select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.plan_row)
    ).all()
    names = _names(session, (f.done_by_id for f in follow_ups))
    result = []
    for assessment in found:
        view = decrypted_view(session, vault, case, assessment)
        lines = [
            FollowUpLine(
                f.plan_row,
                f.due_on,
                f.done_dt,
                None if f.done_by_id is None else names.get(f.done_by_id),
            )
            for f in follow_ups
            if f.assessment_id == assessment.id
        ]
        given = feedback_of(session, vault, case, assessment)
        result.append(ExtractAssessment(view, instrument_of(assessment), lines, given))
    return result


def _transfers(session: Session, every_case: dict[uuid.UUID, Case]) -> list[TransferLine]:
    source, target = aliased(Unit), aliased(Unit)
    rows = session.execute(
        select(CaseTransfer, source.name, target.name)
        .join(source, source.id == CaseTransfer.from_unit_id)
        .join(target, target.id == CaseTransfer.to_unit_id)
        .where(CaseTransfer.case_id.in_(list(every_case)))
        .order_by(CaseTransfer.requested_dt)
    ).all()
    names = _names(
        session,
        (t.requested_by_id for t, _s, _t in rows),
        (t.decided_by_id for t, _s, _t in rows),
    )
    return [
        TransferLine(
            every_case[t.case_id].reference,
            from_unit,
            to_unit,
            names.get(t.requested_by_id, ""),
            t.requested_dt,
            t.state,
            None if t.decided_by_id is None else names.get(t.decided_by_id),
            t.decided_dt,
        )
        for t, from_unit, to_unit in rows
    ]


def _accesses(
    session: Session, vault: Vault, every_case: dict[uuid.UUID, Case]
) -> list[AccessLine]:
    rows = session.scalars(
        select(CaseAccess)
        .where(CaseAccess.case_id.in_(list(every_case)))
        .order_by(CaseAccess.granted_dt)
    ).all()
    names = _names(session, (a.user_id for a in rows), (a.reviewed_by_id for a in rows))
    lines = []
    for access in rows:
        owner = every_case[access.case_id]
        note = ""
        if access.note is not None:
            note = vault.open_json(
                session, owner.data_key_id, access.note, "case_access", "note", access.id
            )
        lines.append(
            AccessLine(
                owner.reference,
                access.kind,
                names.get(access.user_id, ""),
                access.purpose,
                note,
                access.granted_dt,
                access.expires_dt,
                None if access.reviewed_by_id is None else names.get(access.reviewed_by_id),
                access.reviewed_dt,
            )
        )
    return lines


def make_register_extract(
    session: Session,
    vault: Vault,
    user: User,
    case: Case,
    *,
    output: str,
    years: int,
    instrument_of: Callable[[Assessment], Instrument],
) -> RegisterExtract:
    """Gather and decrypt everything about the child of `case` (and of the duplicates merged
    into it). `output` ("html" or "json") is recorded in the audit entry with the counts."""
    if not policy.can_make_register_extract(user, case):
        audit.append_denial(session, user.as_actor(), ACTION, "case", case.id)
        raise AccessDenied(N_("You may not make a register extract of this case."))
    if output not in FORMATS:
        raise ValueError(output)
    merged_cases = session.scalars(
        select(Case)
        .where(Case.merged_into_id == case.id, Case.status == CaseStatus.MERGED)
        .order_by(Case.created_dt)
    ).all()
    every_case = {case.id: case} | {c.id: c for c in merged_cases}
    identity = cases.open_identity(session, vault, case)
    found = _assessments(session, vault, case, instrument_of)
    log = case_log_rows(session, list(every_case.values()))
    extract = RegisterExtract(
        made_dt=utcnow(),
        made_by=user.display_name,
        case=case,
        unit_name=session.scalar(select(Unit.name).where(Unit.id == case.unit_id)) or "",
        identity=identity,
        is_coordination_number=is_coordination_number(identity.personnummer),
        caseworker=cases.caseworker_name(session, case),
        retention=retention.retention_status(session, vault, user, case, years),
        assessments=found,
        transfers=_transfers(session, every_case),
        merged=[MergedLine(c.reference, c.created_dt, c.updated_dt) for c in merged_cases],
        accesses=_accesses(session, vault, every_case),
        log=log,
    )
    audit.append(
        session,
        user.as_actor(),
        ACTION,
        object_type="case",
        object_id=case.id,
        details={
            "format": output,
            "assessments": len(found),
            "merged": [str(c.id) for c in merged_cases],
            "log_entries": len(log),
        },
    )
    return extract


# -- the machine-readable file ------------------------------------------------------------


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _content_json(instrument: Instrument, content: Content, locale: str) -> dict[str, Any]:
    items = []
    for domain in instrument.domains:
        for item in domain.items:
            rating = content.rating(item.code)
            level = item.scale.level(rating.rating) if rating.rating else None
            items.append(
                {
                    "domain": domain.code,
                    "code": item.code,
                    "title": item.title.get(locale),
                    "rating": rating.rating,
                    "rating_label": None if level is None else level.label.get(locale),
                    "rationale": rating.rationale,
                    "critical": rating.is_critical,
                    "sources": list(rating.sources),
                }
            )
    judgement = instrument.judgement_level(content.judgement_level or "")
    return {
        "items": items,
        "judgement": {
            "level": content.judgement_level,
            "label": None if judgement is None else judgement.label.get(locale),
            "reason": content.judgement_reason,
            "scenarios": content.scenarios,
        },
        "additional_risk_factors": content.additional_risk,
        "additional_protective_factors": content.additional_protective,
        "consistency_reasons": dict(content.rule_reasons),
        "plan": [entry.to_json() for entry in content.plan],
        "investigation": content.investigation.to_json(),
        "views_heard": content.voices.to_json(),
        "risk_specification": content.risk.to_json(),
    }


def extract_json(extract: RegisterExtract, locale: str) -> dict[str, Any]:
    """The extract as one JSON document: codes as stored, with labels in `locale`."""
    case, identity = extract.case, extract.identity
    status = extract.retention
    return {
        "format": "riskassess-registerutdrag",
        "format_version": FORMAT_VERSION,
        "language": locale,
        "made_at": _moment(extract.made_dt),
        "made_by": extract.made_by,
        "secrecy_review_required": True,
        "case": {
            "reference": case.reference,
            "unit": extract.unit_name,
            "status": case.status,
            "opened_at": _moment(case.created_dt),
            "closed_at": _moment(case.closed_dt),
            "responsible_caseworker": extract.caseworker,
            "protected_identity": case.is_protected,
        },
        "identity": {
            "name": identity.name,
            "personnummer": identity.personnummer_display,
            "is_samordningsnummer": extract.is_coordination_number,
            "birth_date": identity.birth_date.isoformat(),
            "sex": identity.sex,
        },
        "retention": {
            "last_entry": status.dates.last_entry.isoformat(),
            "may_be_deleted_from": None if status.research_exempt else status.dates.due.isoformat(),
            "deleted_by": None if status.research_exempt else status.dates.deadline.isoformat(),
            "exempt_for_research": bool(status.research_exempt),
            "hold": None
            if status.hold is None
            else {
                "reason": status.hold.reason,
                "note": status.hold.note,
                "placed_by": status.hold.placed_by,
                "placed_at": _moment(status.hold.placed_dt),
            },
        },
        "assessments": [
            {
                "id": str(entry.view.assessment.id),
                "instrument": {
                    "id": entry.instrument.id,
                    "version": entry.instrument.version,
                    "title": entry.instrument.title.get(locale),
                    "content_hash": entry.view.assessment.instrument_hash,
                },
                "kind": entry.view.assessment.kind,
                "state": entry.view.assessment.state,
                "previous": None
                if entry.view.assessment.previous_id is None
                else str(entry.view.assessment.previous_id),
                "assessed_by": entry.view.author_name,
                "created_at": _moment(entry.view.assessment.created_dt),
                "submitted_at": _moment(entry.view.assessment.submitted_dt),
                "decided_at": _moment(entry.view.assessment.decided_dt),
                "approved_content_hash": entry.view.assessment.content_hash,
                "eligibility_reason": entry.view.eligibility_reason,
                "correction_reason": entry.view.correction_reason,
                "content": _content_json(entry.instrument, entry.view.content, locale),
                "decisions": [
                    {
                        "decision": d.decision,
                        "by": d.author_name,
                        "at": _moment(d.created_dt),
                        "comment": d.comment,
                    }
                    for d in entry.view.decisions
                ],
                "feedback": [
                    {**f.to_json(), "recorded_by": f.author_name, "at": _moment(f.created_dt)}
                    for f in entry.feedback
                ],
                "follow_ups": [
                    {
                        "plan_row": f.plan_row + 1,
                        "due_on": f.due_on.isoformat(),
                        "done_at": _moment(f.done_dt),
                        "done_by": f.done_by,
                    }
                    for f in entry.follow_ups
                ],
            }
            for entry in extract.assessments
        ],
        "transfers": [
            {
                "case": t.case_reference,
                "from_unit": t.from_unit,
                "to_unit": t.to_unit,
                "requested_by": t.requested_by,
                "requested_at": _moment(t.requested_dt),
                "state": t.state,
                "decided_by": t.decided_by,
                "decided_at": _moment(t.decided_dt),
            }
            for t in extract.transfers
        ],
        "merged_duplicates": [
            {
                "case": m.reference,
                "opened_at": _moment(m.created_dt),
                "merged_at": _moment(m.merged_dt),
            }
            for m in extract.merged
        ],
        "reasoned_accesses": [
            {
                "case": a.case_reference,
                "kind": a.kind,
                "by": a.user,
                "purpose": a.purpose,
                "note": a.note,
                "granted_at": _moment(a.granted_dt),
                "expires_at": _moment(a.expires_dt),
                "reviewed_by": a.reviewed_by,
                "reviewed_at": _moment(a.reviewed_dt),
            }
            for a in extract.accesses
        ],
        "access_log": [
            {
                "entry": row.seq,
                "at": _moment(row.at),
                "username": row.username,
                "name": row.display_name,
                "role": row.role,
                "unit": row.unit_name,
                "action": row.action,
                "case": row.case_reference,
                "outcome": row.outcome,
            }
            for row in extract.log
        ],
    }
