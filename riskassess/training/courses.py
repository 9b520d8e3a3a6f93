"""Course sessions: the trainer's actions (create, reveal, close, reopen, delete, export) and
the participants' (join, rate, submit). Services take the session and the actor, flush and
never commit; the trainer's actions are audited with ids and counts only (no display names,
no typed text). Participants' own steps are not audited: they are fictional course work by
visitors without an account."""

from __future__ import annotations

import csv
import io
import json
import secrets
import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments.content import Content, Problem, submission_problems
from riskassess.core import audit
from riskassess.core.db import utcnow
from riskassess.errors import N_, DomainError, EditConflict
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import InstrumentRegistry
from riskassess.training.models import (
    CourseParticipant,
    CourseRating,
    CourseSession,
    CourseState,
)
from riskassess.training.vignettes import Vignette, VignetteRegistry

# No 0/O, 1/I/L: a code read aloud or from a projector is typed right the first time.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_VIGNETTES = 10

UNKNOWN_CODE = N_("No open course has that code. Check the code with your trainer.")
COURSE_CLOSED = N_("The course is closed: nothing more can be rated.")
ALREADY_SUBMITTED = N_("You have already submitted this vignette: it can no longer be changed.")
NO_VIGNETTES = N_("Choose at least one vignette.")
UNKNOWN_VIGNETTE = N_("A chosen vignette is not installed.")
CODE_TAKEN = N_("An open course already uses this course's code; close that course first.")
NOT_REVEALED = N_("The results are shown when the trainer reveals them.")

# What a participant's rating must hold to be submitted: every item rated and a judgement.
# Rationales are welcome but not required in a course.
REQUIRED = frozenset({"unrated", "invalid", "no_judgement", "invalid_judgement"})


def new_join_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: str) -> str:
    """The code as typed, in capitals without spaces or dashes."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def _code_in_use(session: Session, code: str, other_than: uuid.UUID | None = None) -> bool:
    query = select(CourseSession.id).where(
        CourseSession.join_code == code, CourseSession.state == CourseState.OPEN
    )
    if other_than is not None:
        query = query.where(CourseSession.id != other_than)
    return session.scalar(query.limit(1)) is not None


def _audit(session: Session, actor: User, verb: str, course: CourseSession, **details: int) -> None:
    audit.append(
        session,
        actor.as_actor(),
        f"training:course:{verb}",
        object_type="course",
        object_id=course.id,
        details=details or None,
    )


def create_course(
    session: Session,
    actor: User,
    vignettes: VignetteRegistry,
    title: str,
    keys: list[tuple[str, str]],
) -> CourseSession:
    if not keys:
        raise DomainError(NO_VIGNETTES)
    if any(vignettes.get(*key) is None for key in keys):
        raise DomainError(UNKNOWN_VIGNETTE)
    unique = list(dict.fromkeys(keys))[:MAX_VIGNETTES]
    code = new_join_code()
    while _code_in_use(session, code):
        code = new_join_code()
    course = CourseSession(
        id=uuid.uuid4(),
        title=title.strip(),
        join_code=code,
        state=CourseState.OPEN,
        vignette_keys=json.dumps([list(k) for k in unique]),
        created_by_id=actor.id,
        created_dt=utcnow(),
    )
    session.add(course)
    session.flush()
    _audit(session, actor, "create", course, vignettes=len(unique))
    return course


def reveal(session: Session, actor: User, course: CourseSession) -> None:
    if course.revealed_dt is None:
        course.revealed_dt = utcnow()
    session.flush()
    _audit(session, actor, "reveal", course)


def close(session: Session, actor: User, course: CourseSession) -> None:
    course.state = CourseState.CLOSED
    course.closed_dt = utcnow()
    session.flush()
    _audit(session, actor, "close", course)


def reopen(session: Session, actor: User, course: CourseSession) -> None:
    if _code_in_use(session, course.join_code, other_than=course.id):
        raise DomainError(CODE_TAKEN)
    course.state = CourseState.OPEN
    course.closed_dt = None
    session.flush()
    _audit(session, actor, "reopen", course)


def delete_course(session: Session, actor: User, course: CourseSession) -> None:
    """The session, its participants and their ratings."""
    people = select(CourseParticipant.id).where(CourseParticipant.course_id == course.id)
    ratings = session.execute(
        delete(CourseRating).where(CourseRating.participant_id.in_(people))
    ).rowcount  # type: ignore[attr-defined]
    joined = session.execute(
        delete(CourseParticipant).where(CourseParticipant.course_id == course.id)
    ).rowcount  # type: ignore[attr-defined]
    _audit(session, actor, "delete", course, participants=int(joined), ratings=int(ratings))
    session.delete(course)
    session.flush()


def list_courses(session: Session) -> list[CourseSession]:
    return list(session.scalars(select(CourseSession).order_by(CourseSession.created_dt.desc())))


def participants(session: Session, course: CourseSession) -> list[CourseParticipant]:
    return list(
        session.scalars(
            select(CourseParticipant)
            .where(CourseParticipant.course_id == course.id)
            .order_by(CourseParticipant.joined_dt, CourseParticipant.display_name)
        )
    )


def ratings_of(session: Session, course: CourseSession) -> list[CourseRating]:
    people = select(CourseParticipant.id).where(CourseParticipant.course_id == course.id)
    return list(
        session.scalars(select(CourseRating).where(CourseRating.participant_id.in_(people)))
    )


# -- participants ---------------------------------------------------------------------------


def join(session: Session, code: str, display_name: str) -> CourseParticipant:
    course = session.scalar(
        select(CourseSession).where(
            CourseSession.join_code == normalize_code(code),
            CourseSession.state == CourseState.OPEN,
        )
    )
    if course is None:
        raise DomainError(UNKNOWN_CODE)
    person = CourseParticipant(
        id=uuid.uuid4(), course_id=course.id, display_name=display_name.strip(), joined_dt=utcnow()
    )
    session.add(person)
    session.flush()
    return person


def own_rating(
    session: Session, person: CourseParticipant, vignette: Vignette, *, create: bool = False
) -> CourseRating | None:
    found = session.scalar(
        select(CourseRating).where(
            CourseRating.participant_id == person.id,
            CourseRating.vignette_id == vignette.id,
            CourseRating.vignette_version == vignette.version,
        )
    )
    if found is None and create:
        found = CourseRating(
            id=uuid.uuid4(),
            participant_id=person.id,
            vignette_id=vignette.id,
            vignette_version=vignette.version,
        )
        found.write(Content())
        session.add(found)
        session.flush()
    return found


def _check_editable(course: CourseSession, rating: CourseRating) -> None:
    if not course.is_open:
        raise DomainError(COURSE_CLOSED)
    if rating.submitted_dt is not None:
        raise DomainError(ALREADY_SUBMITTED)


def save_rating(
    session: Session, course: CourseSession, rating: CourseRating, content: Content, based_on: int
) -> None:
    _check_editable(course, rating)
    if based_on != rating.lock_version:
        raise EditConflict(N_("Changed meanwhile."))
    rating.write(content)
    session.flush()


def open_problems(instrument: Instrument, content: Content) -> list[Problem]:
    return [p for p in submission_problems(instrument, content) if p.kind in REQUIRED]


class Incomplete(DomainError):
    problems: list[Problem]

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(N_("Rate every item and choose a judgement before you submit."))
        self.problems = problems


def submit_rating(
    session: Session, course: CourseSession, rating: CourseRating, instrument: Instrument
) -> None:
    _check_editable(course, rating)
    problems = open_problems(instrument, rating.read())
    if problems:
        raise Incomplete(problems)
    rating.submitted_dt = utcnow()
    session.flush()


# -- export ---------------------------------------------------------------------------------


def export_csv(
    session: Session,
    actor: User,
    course: CourseSession,
    vignettes: VignetteRegistry,
    instruments: InstrumentRegistry,
) -> str:
    """One row per participant, vignette and item (and one for the judgement): the rating
    beside the reference. Submitted ratings only."""
    people = {p.id: p for p in participants(session, course)}
    by_key: dict[tuple[uuid.UUID, str, str], CourseRating] = {
        (r.participant_id, r.vignette_id, r.vignette_version): r
        for r in ratings_of(session, course)
        if r.submitted_dt is not None
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["participant", "vignette", "version", "instrument", "item", "rating", "reference"]
    )
    rows = 0
    for key in course.vignettes:
        vignette = vignettes.get(*key)
        if vignette is None:
            continue
        for person in people.values():
            rating = by_key.get((person.id, *key))
            if rating is None:
                continue
            content = rating.read()
            base = [
                _cell(person.display_name),
                vignette.id,
                vignette.version,
                vignette.instrument_id,
            ]
            for ref in vignette.reference:
                writer.writerow(
                    [*base, ref.item, content.rating(ref.item).rating or "", ref.rating]
                )
                rows += 1
            writer.writerow(
                [*base, "judgement", content.judgement_level or "", vignette.judgement.level]
            )
            rows += 1
    _audit(session, actor, "export", course, rows=rows)
    return out.getvalue()


def _cell(text: str) -> str:
    """A spreadsheet must not read a display name as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
