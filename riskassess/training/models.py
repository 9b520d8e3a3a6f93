"""Course sessions (samträning): a trainer's session with its vignettes and join code, the
participants who joined it under a display name, and their ratings of the vignettes.

Everything here is fictional course material: no case, no personal data, no real assessment.
Participants are not staff accounts; they hold no role and reach nothing but their own session.
Ratings are stored as plain JSON (the same shape as an assessment's content), never in the
case tables and never sealed under a case's key."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.assessments.content import Content
from riskassess.core.db import Base, UTCDateTime, utcnow


class CourseState:
    OPEN = "open"
    CLOSED = "closed"


class CourseSession(Base):
    __tablename__ = "training_course"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    # Short and unambiguous; unique among open sessions (checked when opening or reopening).
    join_code: Mapped[str] = mapped_column(String(8), index=True)
    state: Mapped[str] = mapped_column(String(8), default=CourseState.OPEN)
    # JSON list of [vignette id, version], in the order the trainer picked them.
    vignette_keys: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revealed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def vignettes(self) -> list[tuple[str, str]]:
        return [(str(v), str(ver)) for v, ver in json.loads(self.vignette_keys)]

    @property
    def is_open(self) -> bool:
        return self.state == CourseState.OPEN

    @property
    def is_revealed(self) -> bool:
        return self.revealed_dt is not None


class CourseParticipant(Base):
    """Someone who joined a session with its code: a display name, nothing else."""

    __tablename__ = "training_participant"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_course.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(60))
    joined_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CourseRating(Base):
    """One participant's rating of one vignette of the session."""

    __tablename__ = "training_rating"
    __table_args__ = (UniqueConstraint("participant_id", "vignette_id", "vignette_version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    participant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_participant.id"), index=True
    )
    vignette_id: Mapped[str] = mapped_column(String(60))
    vignette_version: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)  # Content.to_json(), as JSON
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 - read once by the mapper

    def read(self) -> Content:
        return Content.from_json(json.loads(self.content))

    def write(self, content: Content) -> None:
        self.content = json.dumps(content.to_json(), ensure_ascii=False, sort_keys=True)
        self.updated_dt = utcnow()
