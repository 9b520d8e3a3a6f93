"""Which instrument the follow-up statistics page opens with: the one with the most approved
assessments in the user's units over the default period, so that a manager does not land on
an instrument nobody in the units uses (the first in the list) and read "too few"."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.reports.models import AssessmentFact


def most_counted_instrument(
    session: Session, unit_ids: list[uuid.UUID], start: datetime, end: datetime
) -> tuple[str, str] | None:
    """The instrument id and version counted most often in [start, end) in the units; None
    when none is. Reads only plaintext columns of the facts (no key is opened) and shows no
    number, so it is not audited; the report it leads to is."""
    if not unit_ids:
        return None
    counted = func.count()
    row = session.execute(
        select(AssessmentFact.instrument_id, AssessmentFact.instrument_version)
        .where(
            AssessmentFact.unit_id.in_(unit_ids),
            AssessmentFact.approved_dt >= start,
            AssessmentFact.approved_dt < end,
        )
        .group_by(AssessmentFact.instrument_id, AssessmentFact.instrument_version)
        .order_by(counted.desc(), AssessmentFact.instrument_id, AssessmentFact.instrument_version)
        .limit(1)
    ).first()
    return None if row is None else (row.instrument_id, row.instrument_version)
