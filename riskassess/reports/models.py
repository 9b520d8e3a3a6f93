"""Follow-up statistics' own tables: a plaintext row per approved assessment counted, and the
sealed batches that hold what is counted (see facts.py)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime, new_id


class FactBatch(Base):
    """The facts of one instrument's assessments first approved in one unit and one calendar
    month (the municipality's), sealed together as one value: a report over a year opens a
    few hundred values, not one per assessment."""

    __tablename__ = "fact_batch"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    instrument_id: Mapped[str] = mapped_column(String(60))
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit.id"))
    month: Mapped[date] = mapped_column(Date())  # its first day
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_key.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("instrument_id", "month", "unit_id"),)


class AssessmentFact(Base):
    """That an assessment is counted, and in which batch: what is already plaintext in the
    assessment row, nothing more."""

    __tablename__ = "assessment_fact"

    # The latest approved version of the assessment counted (a correction replaces the row of
    # the version it corrects).
    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessment.id"), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    # The unit responsible at the first approval: a case moved since stays counted where it
    # was judged, which is what a comparison between districts asks about.
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit.id"))
    instrument_id: Mapped[str] = mapped_column(String(60))
    instrument_version: Mapped[str] = mapped_column(String(20))
    approved_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(14))  # initial or reassessment
    is_corrected: Mapped[bool] = mapped_column(default=False)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("fact_batch.id"))

    __table_args__ = (Index("ix_assessment_fact_instrument_day", "instrument_id", "approved_dt"),)
