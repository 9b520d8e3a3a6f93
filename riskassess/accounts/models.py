"""Staff accounts and the units (enheter) they belong to. No child data lives here."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskassess.core.audit import Actor
from riskassess.core.db import Base, UTCDateTime, new_id, utcnow


class Unit(Base):
    __tablename__ = "unit"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # A retired unit keeps its history but takes no new users.
    retired_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("unit.id"))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last day the account may be used (a temporary employee, a consultant); None: no end.
    expires_on: Mapped[date | None] = mapped_column(Date())
    # A one-time password reset code issued by an administrator: only its SHA-256 is kept.
    reset_code_hash: Mapped[str | None] = mapped_column(String(64))
    reset_expires_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The second factor (TOTP). The secret is sealed under the account's own data key, so the
    # database alone cannot produce codes; key rotation re-wraps that key like a case's.
    # A secret without `mfa_enrolled_dt` is an enrolment not yet confirmed with a code.
    mfa_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("data_key.id"))
    mfa_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    mfa_enrolled_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The last time step accepted: a code, once used, is refused (RFC 6238, section 5.2).
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)

    unit: Mapped[Unit | None] = relationship(lazy="joined")

    # flask-login's protocol, written out rather than inherited so that the model stays plain.
    @property
    def is_active(self) -> bool:
        return self.is_enabled and not self.is_expired(date.today())

    def is_expired(self, today: date) -> bool:
        return self.expires_on is not None and today > self.expires_on

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def has_mfa(self) -> bool:
        return self.mfa_enrolled_dt is not None

    def as_actor(self) -> Actor:
        return Actor(user_id=self.id, username=self.username, role=self.role, unit_id=self.unit_id)


class LoginSession(Base):
    """A server-side login session. The browser's cookie holds only a random id; the table
    holds its SHA-256, so a copy of the database lets no one take over a session."""

    __tablename__ = "login_session"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # Flask's session contents (user id, CSRF token, language, pending messages) as JSON.
    data: Mapped[str] = mapped_column(Text)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_dt: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RecoveryCode(Base):
    """A one-time code for logging in without the authenticator (a lost phone). Only its
    SHA-256 is kept: the codes have 50 random bits and guessing is throttled."""

    __tablename__ = "mfa_recovery_code"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RaterTraining(Base):
    """One entry of the register of trained raters: a user's training in an instrument.

    The instrument id, not a version: a course in SAVRY covers every version of the SAVRY-style
    instrument. A user may have several entries for one instrument (a refresher course), but
    one course per instrument and day. `recorded_by_id` is None when the command line (an
    operator on the server) or the demo seeding recorded it."""

    __tablename__ = "rater_training"
    __table_args__ = (UniqueConstraint("user_id", "instrument_id", "trained_on"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(60))
    trained_on: Mapped[date] = mapped_column(Date())
    # The course's name as the recorder typed it (staff training, not personal data).
    course: Mapped[str] = mapped_column(String(200))
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
