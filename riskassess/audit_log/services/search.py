"""The auditor's filtered view of the log and its CSV export, and one case's access log
(loggutdrag) for its supervisors."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.audit_log import policy
from riskassess.audit_log.services.common import (
    CASE_LOG_PAGE_SIZE,
    PAGE_SIZE,
    AccessSummary,
    CaseAccessLog,
    LogFilter,
    LogPage,
    LogRow,
    TooManyEntries,
    _case_clause,
    _count,
    _deny,
    _filtered,
    _require,
)
from riskassess.audit_log.services.rows import _names, _page, rows_for
from riskassess.cases.models import Case
from riskassess.core import audit
from riskassess.core.audit import AuditEntry
from riskassess.errors import N_, AccessDenied

EXPORT_LIMIT = 50_000  # rows in one CSV file; narrow the filter for more


def search_log(session: Session, user: User, flt: LogFilter, page: int = 1) -> LogPage:
    """One page of entries matching the filter, newest first. The read is logged."""
    _require(session, user, policy.can_read_log(user), "audit:log:read")
    result = _page(session, _filtered(session, flt), page, PAGE_SIZE)
    audit.append(
        session,
        user.as_actor(),
        "audit:log:read",
        object_type="audit_log",
        details={"filter": flt.describe(), "page": page, "shown": len(result.rows)},
    )
    return result


def export_log(session: Session, user: User, flt: LogFilter) -> list[LogRow]:
    """Every entry matching the filter (oldest first), for a CSV file. The export is logged."""
    _require(session, user, policy.can_export_log(user), "audit:log:export")
    query = _filtered(session, flt)
    total = _count(session, query)
    if total > EXPORT_LIMIT:
        raise TooManyEntries(EXPORT_LIMIT)
    rows = rows_for(session, session.scalars(query.order_by(AuditEntry.seq)).all())
    audit.append(
        session,
        user.as_actor(),
        "audit:log:export",
        object_type="audit_log",
        details={"filter": flt.describe(), "rows": len(rows)},
    )
    return rows


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def log_csv(rows: Sequence[LogRow], header: Sequence[str], action_label: Any) -> str:
    """The rows as CSV for Swedish spreadsheets: semicolons, UTF-8 with a byte-order mark."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    row.seq,
                    row.at.isoformat(timespec="seconds"),
                    row.username,
                    row.display_name,
                    row.role,
                    row.unit_name,
                    row.action,
                    action_label(row.action),
                    row.object_type,
                    row.object_id,
                    row.case_reference,
                    row.outcome,
                    " ".join(sorted(row.flags)),
                    row.hash,
                )
            ]
        )
    return out.getvalue()


def case_access_log(session: Session, user: User, case: Case, page: int = 1) -> CaseAccessLog:
    """Who has read or changed this case, and when; refusals included. The read is logged."""
    if not policy.can_read_case_access_log(user, case):
        _deny(session, user, "audit:case_log:read", "case", case.id)
        raise AccessDenied(N_("You do not have access to this case's access log."))
    clause = _case_clause(session, case)
    refused = func.sum(sql_case((AuditEntry.outcome == audit.Outcome.SUCCESS, 0), else_=1))
    grouped = session.execute(
        select(
            AuditEntry.actor_id,
            func.count(),
            refused,
            func.min(AuditEntry.created_dt),
            func.max(AuditEntry.created_dt),
        )
        .where(clause)
        .group_by(AuditEntry.actor_id)
    ).all()
    names = _names(session, (g[0] for g in grouped))
    summary = sorted(
        (
            AccessSummary(
                actor,
                None if actor is None else names.get(actor),
                count,
                int(refusals or 0),
                first,
                last,
            )
            for actor, count, refusals, first, last in grouped
        ),
        key=lambda s: s.last_dt,
        reverse=True,
    )
    result = _page(session, select(AuditEntry).where(clause), page, CASE_LOG_PAGE_SIZE)
    audit.append(
        session,
        user.as_actor(),
        "audit:case_log:read",
        object_type="case",
        object_id=case.id,
        details={"page": page},
    )
    return CaseAccessLog(case, summary, result)


def case_log_rows(session: Session, cases: Sequence[Case]) -> list[LogRow]:
    """Every entry about these cases (a case and the duplicates merged into it), oldest first,
    as the loggutdrag shows them: for a registerutdrag, whose service authorizes and audits."""
    clause = or_(*(_case_clause(session, case) for case in cases))
    entries = session.scalars(select(AuditEntry).where(clause).order_by(AuditEntry.seq)).all()
    return rows_for(session, entries)
