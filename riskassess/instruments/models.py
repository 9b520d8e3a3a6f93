"""Every instrument version that has been used, stored as the exact file it was read from, so
an assessment renders with its own version forever, even after the file is edited or removed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime, utcnow


class InstrumentVersion(Base):
    __tablename__ = "instrument_version"
    __table_args__ = (UniqueConstraint("instrument_id", "version"),)

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    instrument_id: Mapped[str] = mapped_column(String(60))
    version: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(200))
    # The file's bytes exactly as read; its SHA-256 is the content hash.
    definition: Mapped[bytes] = mapped_column(LargeBinary)
    first_used_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
