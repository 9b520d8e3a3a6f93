"""Cases (one per child and unit). Identity is sealed under the case's own data key; what
stays in plaintext is listed in SECURITY.md."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime, utcnow


class CaseStatus:
    OPEN = "open"
    CLOSED = "closed"


class Case(Base):
    __tablename__ = "case_file"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit.id"), index=True)
    data_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_key.id"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[str] = mapped_column(String(12), default=CaseStatus.OPEN)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Keyed HMAC of the normalized personnummer: lets a number be found, never read back.
    pnr_index: Mapped[str] = mapped_column(String(64), index=True)
    # Sealed JSON: name, personnummer, birth date, sex.
    identity: Mapped[bytes] = mapped_column(LargeBinary)
