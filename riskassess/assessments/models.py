"""Assessments and the supervisor's decisions on them. Content and comments are sealed under
the case's data key; state, instrument version and timestamps stay in plaintext."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from riskassess.core.db import Base, UTCDateTime, utcnow


class AssessmentKind:
    INITIAL = "initial"
    REASSESSMENT = "reassessment"
    CORRECTION = "correction"


class Assessment(Base):
    __tablename__ = "assessment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(60))
    instrument_version: Mapped[str] = mapped_column(String(20))
    instrument_hash: Mapped[str] = mapped_column(ForeignKey("instrument_version.content_hash"))
    state: Mapped[str] = mapped_column(String(12), index=True)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decided_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # SHA-256 of the approved content; also recorded in the audit chain.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # Sealed JSON: item ratings with rationales, and the overall judgement.
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # Sealed JSON string: why an instrument outside its age or sex range was chosen, if it was.
    eligibility_reason: Mapped[bytes | None] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(
        String(14), default=AssessmentKind.INITIAL, server_default=AssessmentKind.INITIAL
    )
    # The approved assessment this one reassesses or corrects; its content was the start.
    previous_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessment.id"))
    # Sealed JSON string: why the approved assessment `previous_id` is corrected by this one.
    correction_reason: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Whether its author was in the register of trained raters for the instrument when the
    # assessment was started (the supervisor sees it in review); None: started before the
    # register existed.
    is_rater_registered: Mapped[bool | None] = mapped_column()
    # Optimistic locking: a save based on an older version is refused, never merged silently.
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012 - read once by the mapper


class AssessmentEditor(Base):
    """Someone who saved the content of an assessment while it was a draft: its author at the
    start, and each person who saved it later. The report names them all.

    Recorded, not derived from the audit log, because the log's oldest years are pruned
    (`core.audit.RETENTION_YEARS`) while an approved assessment stays in the case file until
    gallring, and because a report should not have to scan the log to print a signature."""

    __tablename__ = "assessment_editor"

    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessment.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    first_edit_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_edit_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewDecision(Base):
    """A workflow decision with its comment: a supervisor's return or approval, or the
    caseworker's withdrawal. Never edited after it is written."""

    __tablename__ = "review_decision"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessment.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    decision: Mapped[str] = mapped_column(String(12))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    comment: Mapped[bytes] = mapped_column(LargeBinary)


class FollowUp(Base):
    """A follow-up date from the plan of an approved assessment, for the lists of what is due.

    The date and the plan row's position are plaintext, so the lists need no key and no
    decryption; what is to be followed up stays sealed in the assessment's content. A
    follow-up is open until someone of the unit marks it done. It counts only while its
    assessment is approved: when a reassessment or correction is approved, the plan in force
    is the new one, and so are the follow-ups."""

    __tablename__ = "follow_up"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessment.id"), index=True)
    plan_row: Mapped[int] = mapped_column()  # position in the plan, from 0
    due_on: Mapped[date] = mapped_column(Date(), index=True)
    done_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))


class Feedback(Base):
    """That the result of an approved assessment was fed back to the child or the guardians:
    when, how, and whether they agreed. Sealed, like the content: who was told what and any
    disagreement in their words. Written after approval, so the frozen content stays as it
    was signed; never edited afterwards."""

    __tablename__ = "assessment_feedback"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessment.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Sealed JSON: {"to": ..., "on": ISO date, "how": ..., "agreement": ..., "disagreement": ...}
    content: Mapped[bytes] = mapped_column(LargeBinary)
