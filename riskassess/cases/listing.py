"""The case list: one page of the unit's cases (or the user's own), each with where its work
stands. A fixed number of queries per page, whatever the page size or the table size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments.followup import CaseWork, case_work
from riskassess.cases.models import Case, CaseStatus
from riskassess.cases.services import CaseView, listed_views
from riskassess.core import audit
from riskassess.core.keys import DataKey, Vault, keep_loaded
from riskassess.instruments.definition import Instrument

CASES_PER_PAGE = 25
# The list counts at most this many cases beyond the start of the page asked for: counting a
# whole large unit on every page costs more than the page itself, and "more than 1,000" says
# enough. A later page counts from its own start, so every page can still be reached.
COUNT_AHEAD = 1000


@dataclass(frozen=True)
class CaseRow:
    view: CaseView
    caseworker: str  # the responsible caseworker's name, or "" when none is assigned
    work: CaseWork


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    total: int  # the count, or the lower bound it stopped at when `is_more`
    page: int
    pages: int  # the last page, or the last counted one when `is_more`
    is_more: bool = False  # more cases than `total`: the count stopped there


@cache
def _queries(mine: bool, by_status: bool) -> tuple[Select[int], Select[Case, str | None, DataKey]]:
    """The count and the page of a list with these filters, built once each (see core.db)."""
    conditions = [Case.unit_id == bindparam("unit_id"), Case.status != CaseStatus.MERGED]
    if mine:
        conditions.append(Case.assigned_to_id == bindparam("user_id"))
    if by_status:
        conditions.append(Case.status == bindparam("status"))
    count = select(func.count()).select_from(
        select(Case.id).where(*conditions).limit(bindparam("limit")).subquery()
    )
    # The data key rows come along: the list decrypts each unprotected name.
    page = (
        select(Case, User.display_name, DataKey)
        .outerjoin(User, User.id == Case.assigned_to_id)
        .outerjoin(DataKey, DataKey.id == Case.data_key_id)
        .where(*conditions)
        .order_by(Case.updated_dt.desc(), Case.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return count, page


def list_cases(
    session: Session,
    vault: Vault,
    user: User,
    *,
    mine: bool,
    status: str | None,
    page: int,
    instrument_of: Callable[[Any], Instrument],
    today: date,
    per_page: int | None = None,
) -> CasePage:
    """One page of the unit's cases (or the user's own), newest change first, each with its
    responsible caseworker, its latest assessment and state, and the next follow-up date.
    Protected identities are never decrypted for a list. One audit entry names every row shown.
    """
    by_status = status in (CaseStatus.OPEN, CaseStatus.CLOSED)
    count_query, page_query = _queries(mine, by_status)
    values: dict[str, Any] = {"unit_id": user.unit_id}
    if mine:
        values["user_id"] = user.id
    if by_status:
        values["status"] = status
    per_page = per_page or CASES_PER_PAGE
    page = max(page, 1)
    limit = (page - 1) * per_page + COUNT_AHEAD
    counted = session.scalar(count_query, {**values, "limit": limit + 1}) or 0
    is_more = counted > limit
    total = min(counted, limit)
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    found = session.execute(
        page_query, {**values, "limit": per_page, "offset": (page - 1) * per_page}
    ).all()
    cases = [case for case, _name, _key in found]
    for _case, _name, key in found:
        keep_loaded(session, key)
    views = listed_views(session, vault, user, cases)
    work = case_work(session, [c.id for c in cases], instrument_of, today)
    audit.append(
        session,
        user.as_actor(),
        "case:case:list",
        object_type="unit",
        object_id=user.unit_id,
        details={"cases": [str(c.id) for c in cases]},
    )
    rows = [
        CaseRow(view, name or "", work[view.case.id])
        for view, (_case, name, _key) in zip(views, found, strict=True)
    ]
    return CasePage(rows, total, page, pages, is_more)
