"""Sample checks of access (loggkontroll): a random draw of access entries for a period, and the
auditor's finding for each. Kept as a record that stands on its own: each item copies the
facts of its entry (no personal plaintext), so it still reads after the log year is pruned."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskassess.core.db import Base, UTCDateTime, new_id, utcnow


class CheckOutcome:
    OK = "ok"
    FOLLOW_UP = "follow_up"


class AuditSample(Base):
    __tablename__ = "audit_sample"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    # The sampled period: start inclusive, end exclusive.
    period_start_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    # How many access entries the period held when the sample was drawn.
    population_count: Mapped[int] = mapped_column()
    # Seals the auditors' comments, which are free text.
    data_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_key.id"))

    items: Mapped[list[AuditSampleItem]] = relationship(
        back_populates="sample", order_by="AuditSampleItem.position"
    )


class AuditSampleItem(Base):
    __tablename__ = "audit_sample_item"
    __table_args__ = (UniqueConstraint("sample_id", "entry_seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audit_sample.id"), index=True)
    position: Mapped[int] = mapped_column()
    # The sampled entry, pinned by its hash. No foreign key: log retention may remove it.
    entry_seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))
    entry_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[uuid.UUID | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    # The auditor's finding, recorded once.
    check_outcome: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed JSON string
    checked_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    checked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sample: Mapped[AuditSample] = relationship(back_populates="items")
