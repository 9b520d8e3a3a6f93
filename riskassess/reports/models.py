"""Follow-up statistics' own table: one fact per approved assessment (see facts.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime


class AssessmentFact(Base):
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
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_key.id"))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_assessment_fact_instrument_day", "instrument_id", "approved_dt"),)
