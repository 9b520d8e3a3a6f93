"""Cases (one per child and unit). Identity is sealed under the case's own data key; what
stays in plaintext is listed in SECURITY.md."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime, utcnow


class CaseStatus:
    OPEN = "open"
    CLOSED = "closed"
    # A duplicate merged into another case: kept as a tombstone so that old audit entries,
    # accesses and links still resolve; `merged_into_id` names the case that holds its work.
    MERGED = "merged"


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
    # One child, one case: the live case's claim on its number, equal to `pnr_index`. Unique,
    # so two people creating the same child at once get one case. NULL on a merged tombstone,
    # and on duplicates made before version 0013 until a supervisor merges them (NULLs never
    # collide, so the migration does not fail on them).
    pnr_claim: Mapped[str | None] = mapped_column(String(64), unique=True)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="SET NULL")
    )
    # Sealed JSON: name, personnummer, birth date, sex.
    identity: Mapped[bytes] = mapped_column(LargeBinary)
    # The caseworker responsible for the case ("my cases"); the creator to begin with.
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    closed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Skyddade personuppgifter: identity shown only to the assigned caseworker and the unit's
    # supervisors, each time with a stated reason.
    is_protected: Mapped[bool] = mapped_column(default=False, server_default=false())


# The case list: a unit's cases, newest change first (the list's order exactly), read a page at
# a time from the index instead of sorting the whole unit.
Index("ix_case_file_unit_recent", Case.unit_id, Case.updated_dt.desc(), Case.id)


class AccessKind:
    EMERGENCY = "emergency"  # nödåtkomst to a case outside one's unit, time-limited
    PROTECTED = "protected"  # one view of a protected identity


class CaseAccess(Base):
    """An access that needs a stated reason: emergency access outside one's unit, or a view of
    a protected identity. The purpose is a code (kept in the audit log); any free-text note is
    sealed under the case's key, since it may mention the child."""

    __tablename__ = "case_access"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    purpose: Mapped[str] = mapped_column(String(30))
    note: Mapped[bytes | None] = mapped_column(LargeBinary)
    granted_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Emergency accesses are flagged for the supervisor's follow-up until reviewed.
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TransferState:
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class CaseTransfer(Base):
    """A unit's request to take over a case held by another unit (the child moved, or the
    case was opened in the wrong unit). The holding unit's supervisor accepts (the case moves)
    or declines. Nothing in it but ids, codes and times."""

    __tablename__ = "case_transfer"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    from_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit.id"))
    to_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unit.id"))
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    requested_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default=TransferState.PENDING)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decided_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HoldReason:
    """Why a case is kept past its retention date (gallring is suspended while a hold lasts)."""

    # Kept for a research decision. (Children born on day 5, 15 or 25 are exempt by law and
    # kept without any hold: see retention.research_exempt.)
    RESEARCH = "research"
    LEGAL = "legal"  # an appeal, a complaint, supervision or a court matter is pending
    ARCHIVE = "archive"  # a decision of the archive authority (arkivmyndigheten)
    OTHER = "other"  # explained in the note

    ALL = (RESEARCH, LEGAL, ARCHIVE, OTHER)


class RetentionHold(Base):
    """A supervisor's hold on a case's gallring. The reason is a code; the note is sealed under
    the case's data key, since it may mention the child. Placing or lifting a hold is no entry
    in the case itself, so it does not move the retention date."""

    __tablename__ = "retention_hold"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[bytes | None] = mapped_column(LargeBinary)
    placed_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    placed_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
