"""The audit log's tables, its vocabulary (outcomes, actors) and its fixed formats."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime

GENESIS_HASH = "0" * 64
BODY_VERSION = 2
# Entries are kept at least this many full calendar years before a year may be pruned.
RETENTION_YEARS = 5
# Any constant works; it only has to be the same for every writer of this database.
_PG_AUDIT_LOCK = 0x72_69_73_6B

# What may appear in the indexed columns. Restricting them keeps the body prefix free of JSON
# escapes and of the "|" separator, so the database can rebuild it from the columns.
_TAG = re.compile(r"[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*\Z")
_OBJECT_TYPE = re.compile(r"[a-z][a-z0-9_]*\Z")
_OBJECT_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}\Z")
_AT_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class Outcome:
    SUCCESS = "success"
    DENIED = "denied"
    FAILURE = "failure"


OUTCOMES = frozenset({Outcome.SUCCESS, Outcome.DENIED, Outcome.FAILURE})


@dataclass(frozen=True)
class Actor:
    """Who acts: enough to answer "who, in which role and unit" without touching a feature."""

    user_id: uuid.UUID | None
    username: str
    role: str
    unit_id: uuid.UUID | None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, role="system", unit_id=None)


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCaseRef(Base):
    """Which cases an entry that showed several of them (a case list, a search) names in its
    details. An index derived from the hashed body, so that "who has seen this case" needs no
    scan of every list entry's text; verification does not depend on it."""

    __tablename__ = "audit_case_ref"

    seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("audit_entry.seq", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


# The details key under which an entry names the cases it showed.
CASES_SHOWN = "cases"


class AuditPrune(Base):
    """The signed record left behind when the oldest entries are deleted (log retention).

    The removed entries were exactly `first_seq`..`last_seq`; the first of them linked to
    `first_prev_hash` and the last had `last_hash`, which commits to all of them through the
    chain. Anyone holding a copy of the removed entries can check them against this record.
    """

    __tablename__ = "audit_prune"

    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    first_prev_hash: Mapped[str] = mapped_column(String(64))
    last_hash: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(BigInteger)
    before_year: Mapped[int] = mapped_column(Integer)
    first_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    last_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    pruned_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(100))


class AuditError(Exception):
    """An audit operation is refused; the message is for the operator."""
