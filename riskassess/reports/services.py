"""Follow-up statistics as a service: who may see which units, the audited report, and the
rebuild of facts for approvals made before facts were written."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit, User
from riskassess.assessments.models import Assessment
from riskassess.assessments.services import open_content
from riskassess.cases.models import Case
from riskassess.cases.services import open_identity
from riskassess.core import audit
from riskassess.core.keys import UnreadableData, Vault
from riskassess.core.permissions import Permission, Role, role_has
from riskassess.errors import N_, AccessDenied
from riskassess.instruments.definition import Instrument
from riskassess.reports import facts
from riskassess.reports.measures import Period, Report, measures


def visible_units(session: Session, user: User) -> list[Unit]:
    """The units whose numbers the user may see: a supervisor's own, every unit for a
    manager, none for anyone else."""
    if not role_has(user.role, Permission.REPORT_READ):
        return []
    query = select(Unit).order_by(Unit.name)
    if user.role != Role.MANAGER:
        query = query.where(Unit.id == user.unit_id)
    return list(session.scalars(query))


def make_report(
    session: Session,
    vault: Vault,
    user: User,
    instrument: Instrument,
    period: Period,
    *,
    unit_ids: Sequence[uuid.UUID] = (),
    purpose: str = "read",
) -> Report:
    """The report for the user's units (or the chosen ones among them); `purpose` ("read" or
    "export") names the audit action. Nothing in the result points at a case."""
    action = f"report:statistics:{purpose}"
    units = visible_units(session, user)
    if unit_ids:
        chosen = set(unit_ids)
        units = [u for u in units if u.id in chosen]
    if not units or (unit_ids and len(units) != len(set(unit_ids))):
        audit.append_denial(session, user.as_actor(), action, "report", None)
        raise AccessDenied(N_("You do not have access to follow-up statistics."))
    start, end = period.bounds()
    ids = [u.id for u in units]
    missing = facts.count_missing(session, instrument.id, start, end, ids)
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
    with _collector_paused():
        opened = facts.open_facts(session, vault, instrument.id, period.first, period.last, ids)
        return measures(instrument, period, units, opened, missing)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a report opens and counts its facts.
    A year's facts are a million small lists and tuples, none of them in a cycle, and the
    collector would walk them again and again as they are made: three quarters of the time
    spent opening 100,000 facts (benchmarks/README.md). Resumed as it was; what the report
    leaves behind is freed by reference counting as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class Rebuilt:
    written: int
    unreadable: int  # approved assessments whose case key is destroyed: nothing to count


def rebuild_facts(
    session: Session,
    vault: Vault,
    actor: audit.Actor,
    instrument_of: Callable[[Assessment], Instrument | None],
) -> Rebuilt:
    """Write the facts of approved assessments that have none: those approved before facts
    were written. Opens each one's content and identity, so it is audited, with counts."""
    written = unreadable = 0
    batches = facts.Batches(session, vault)
    for assessment in facts.missing_facts(session):
        case = session.get(Case, assessment.case_id)
        instrument = instrument_of(assessment)
        if case is None or instrument is None:
            unreadable += 1
            continue
        try:
            content = open_content(session, vault, case, assessment)
            identity = open_identity(session, vault, case)
        except UnreadableData:
            unreadable += 1
            continue
        facts.record_fact(session, vault, case, assessment, instrument, content, identity, batches)
        session.flush()
        written += 1
    batches.save()
    # What is left cannot be read (its case key is destroyed: gallring deletes it next) or
    # has no instrument file: rebuilding again would not count it either.
    facts.mark_complete(session)
    audit.append(
        session,
        actor,
        "report:facts:rebuild",
        object_type="report",
        details={"written": written, "unreadable": unreadable},
    )
    return Rebuilt(written, unreadable)
