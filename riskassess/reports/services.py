"""Follow-up statistics: counts of approved assessments by unit and by sex, with small counts
hidden (suppression.py). The counts come from the sealed content and identity, decrypted in
bulk for the period asked; nothing but the aggregates leaves this module, and reading or
exporting them is audited with the filter's codes and dates, never a case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit, User
from riskassess.assessments.bbic import Voices
from riskassess.assessments.models import Assessment, AssessmentKind
from riskassess.assessments.services import open_content
from riskassess.assessments.workflow import State
from riskassess.cases.models import Case
from riskassess.cases.retention import LOCAL_TIME
from riskassess.cases.services import open_identity
from riskassess.core import audit
from riskassess.core.keys import Vault
from riskassess.core.permissions import Permission, Role, role_has
from riskassess.errors import N_, AccessDenied
from riskassess.instruments.definition import Instrument
from riskassess.reports.suppression import SuppressedTable, suppress

SEXES = ("female", "male")
KINDS = (AssessmentKind.INITIAL, AssessmentKind.REASSESSMENT, AssessmentKind.CORRECTION)
# Whether the child's own view was recorded: heard, not obtainable (with the reason), or
# neither (assessments approved before the record asked for it).
CHILD_VIEW = ("heard", "not_heard", "not_recorded")
# Approved in the period: still in force, or replaced since by a later approval.
COUNTED_STATES = (State.APPROVED.value, State.SUPERSEDED.value)


@dataclass(frozen=True)
class Period:
    """Whole days, both included, in the municipality's time zone."""

    first: date
    last: date

    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(0), LOCAL_TIME)
        end = datetime.combine(self.last + timedelta(days=1), time(0), LOCAL_TIME)
        return start, end


@dataclass(frozen=True)
class Report:
    """The report's tables, each with its row and column codes, counts already suppressed."""

    instrument: Instrument
    period: Period
    units: list[Unit]
    by_unit: SuppressedTable  # rows: units; columns: the judgement levels
    by_sex: SuppressedTable  # rows: SEXES; columns: the judgement levels
    kinds_by_unit: SuppressedTable  # rows: units; columns: KINDS
    child_view_by_unit: SuppressedTable  # rows: units; columns: CHILD_VIEW


def visible_units(session: Session, user: User) -> list[Unit]:
    """The units whose numbers the user may see: a supervisor's own, every unit for a
    manager, none for anyone else."""
    if not role_has(user.role, Permission.REPORT_READ):
        return []
    query = select(Unit).order_by(Unit.name)
    if user.role != Role.MANAGER:
        query = query.where(Unit.id == user.unit_id)
    return list(session.scalars(query))


def _counted(
    session: Session, instrument: Instrument, period: Period, units: Iterable[Unit]
) -> list[tuple[Assessment, Case]]:
    start, end = period.bounds()
    rows = session.execute(
        select(Assessment, Case)
        .join(Case, Case.id == Assessment.case_id)
        .where(
            Assessment.instrument_id == instrument.id,
            Assessment.state.in_(COUNTED_STATES),
            Assessment.decided_dt >= start,
            Assessment.decided_dt < end,
            Case.unit_id.in_([u.id for u in units]),
        )
        .order_by(Assessment.decided_dt, Assessment.id)
    ).all()
    return [(a, c) for a, c in rows]


def make_report(
    session: Session,
    vault: Vault,
    user: User,
    instrument: Instrument,
    period: Period,
    *,
    purpose: str = "read",
) -> Report:
    """The tables for the user's units; `purpose` ("read" or "export") names the audit
    action. Nothing in the result points at a case."""
    action = f"report:statistics:{purpose}"
    units = visible_units(session, user)
    if not units:
        audit.append_denial(session, user.as_actor(), action, "report", None)
        raise AccessDenied(N_("You do not have access to follow-up statistics."))
    levels = [level.code for level in instrument.judgement_levels]
    judged: Counter[tuple[object, str]] = Counter()
    by_sex: Counter[tuple[str, str]] = Counter()
    kinds: Counter[tuple[object, str]] = Counter()
    voices: Counter[tuple[object, str]] = Counter()
    sex_of: dict[object, str] = {}
    for assessment, case in _counted(session, instrument, period, units):
        content = open_content(session, vault, case, assessment)
        level = content.judgement_level or ""
        if case.id not in sex_of:
            sex_of[case.id] = open_identity(session, vault, case).sex
        judged[case.unit_id, level] += 1
        by_sex[sex_of[case.id], level] += 1
        kinds[case.unit_id, assessment.kind] += 1
        voices[case.unit_id, _child_view(content.voices)] += 1
    audit.append(
        session,
        user.as_actor(),
        action,
        object_type="report",
        details={
            "instrument": instrument.id,
            "version": instrument.version,
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "units": len(units),
        },
    )
    return Report(
        instrument,
        period,
        units,
        suppress([[judged[u.id, lvl] for lvl in levels] for u in units]),
        suppress([[by_sex[sex, lvl] for lvl in levels] for sex in SEXES]),
        suppress([[kinds[u.id, kind] for kind in KINDS] for u in units]),
        suppress([[voices[u.id, code] for code in CHILD_VIEW] for u in units]),
    )


def _child_view(voices: Voices) -> str:
    if voices.child.is_recorded:
        return "heard"
    return "not_heard" if voices.child_not_heard.strip() else "not_recorded"
