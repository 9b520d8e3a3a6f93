"""Course sessions in demo mode: the trainer's pages (create, follow, reveal, export, close,
reopen, delete) and the participants' (join with a code, rate the vignettes in the same rating
pages as real work, submit, read their feedback after the reveal).

Every route here answers 404 outside demo mode. Participants are not staff: they join under a
display name and are known by a key of their own in the server-side session, never as a
logged-in user, so every staff page still sends them to the login page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from riskassess.accounts.throttle import failed, limiter, mark_failed
from riskassess.assessments.content import Content, section_progress, summarize
from riskassess.assessments.forms import domain_form, judgement_form
from riskassess.assessments.sections import after_saving, domain_or_404
from riskassess.core.permissions import Permission
from riskassess.errors import DomainError, EditConflict
from riskassess.instruments.definition import Instrument
from riskassess.training import courses
from riskassess.training.forms import ButtonForm, JoinForm, NewCourseForm
from riskassess.training.models import CourseParticipant, CourseRating, CourseSession
from riskassess.training.results import CourseResults, course_results
from riskassess.training.vignettes import Vignette
from riskassess.web import db, locale, public, require, state, user

bp = Blueprint("training", __name__)
F = TypeVar("F", bound=Callable[..., Any])

PARTICIPANT_KEY = "course_participant"
# Wrong codes per address (a classroom shares one address: generous, but guessing is slow).
WRONG_CODE_LIMIT = "30 per 15 minutes"
JOIN_LIMIT = "120 per 15 minutes"


@bp.before_request
def _demo_only() -> None:
    """Training exists in demo mode only: in production every route here is not found."""
    if not state().settings.is_demo:
        abort(404)


# -- shared ---------------------------------------------------------------------------------


def _vignette(course: CourseSession, vignette_id: str, version: str) -> tuple[Vignette, Instrument]:
    """A vignette of this course with the instrument it is written for, or 404."""
    if (vignette_id, version) not in course.vignettes:
        abort(404)
    loaded = _load((vignette_id, version))
    if loaded is None:
        abort(404)
    return loaded


def _load(key: tuple[str, str]) -> tuple[Vignette, Instrument] | None:
    vignette = state().vignettes.get(*key)
    if vignette is None:
        return None
    instrument = state().instruments.get(vignette.instrument_id, vignette.instrument_version)
    return None if instrument is None else (vignette, instrument)


def _results(course: CourseSession) -> CourseResults:
    people = {p.id: p for p in courses.participants(db(), course)}
    submitted: dict[tuple[str, str], list[tuple[str, str, Content]]] = {}
    for rating in sorted(
        courses.ratings_of(db(), course), key=lambda r: people[r.participant_id].joined_dt
    ):
        if rating.submitted_dt is None:
            continue
        person = people[rating.participant_id]
        submitted.setdefault((rating.vignette_id, rating.vignette_version), []).append(
            (str(person.id), person.display_name, rating.read())
        )
    return course_results(course.vignettes, _load, submitted)


# -- the trainer ----------------------------------------------------------------------------


def _course(course_id: uuid.UUID) -> CourseSession:
    course = db().get(CourseSession, course_id)
    if course is None:
        abort(404)
    return course


def _to_course(course: CourseSession) -> Response:
    return redirect(url_for("training.course", course_id=course.id))


@bp.route("/courses", methods=["GET", "POST"])
@require(Permission.COURSE_RUN)
def courses_overview() -> Response | str:
    vignettes = state().vignettes.all()
    form = NewCourseForm(vignettes, locale(), state().instruments)
    if form.validate_on_submit():
        try:
            course = courses.create_course(
                db(), user(), state().vignettes, form.title.data or "", form.chosen()
            )
        except DomainError as exc:
            flash(_(exc.message), "error")
        else:
            flash(_("The course is open. Give the participants the code."), "success")
            return _to_course(course)
    elif form.is_submitted():
        flash(_("Nothing was created. Correct the marked fields."), "error")
    listed = courses.list_courses(db())
    history = [(c, _results(c)) for c in reversed(listed) if c.is_revealed]
    return render_template("training/courses.html", form=form, courses=listed, history=history)


@bp.get("/courses/<uuid:course_id>")
@require(Permission.COURSE_RUN)
def course(course_id: uuid.UUID) -> str:
    found = _course(course_id)
    people = courses.participants(db(), found)
    ratings = courses.ratings_of(db(), found)
    done: dict[uuid.UUID, int] = {}
    for rating in ratings:
        if rating.submitted_dt is not None:
            done[rating.participant_id] = done.get(rating.participant_id, 0) + 1
    loaded = [_load(key) for key in found.vignettes]
    return render_template(
        "training/course.html",
        course=found,
        people=people,
        done=done,
        total=len(found.vignettes),
        vignettes=[v for v in loaded if v is not None],
        results=_results(found) if found.is_revealed else None,
        button=ButtonForm(),
    )


def _trainer_action(
    course_id: uuid.UUID, action: Callable[[CourseSession], None], done: str
) -> Response:
    found = _course(course_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        action(found)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(done, "success")
    return _to_course(found)


@bp.post("/courses/<uuid:course_id>/reveal")
@require(Permission.COURSE_RUN)
def reveal(course_id: uuid.UUID) -> Response:
    return _trainer_action(
        course_id,
        lambda c: courses.reveal(db(), user(), c),
        _("The results are revealed: each participant can now read their feedback."),
    )


@bp.post("/courses/<uuid:course_id>/close")
@require(Permission.COURSE_RUN)
def close(course_id: uuid.UUID) -> Response:
    return _trainer_action(
        course_id,
        lambda c: courses.close(db(), user(), c),
        _("The course is closed: no one can join or rate any more."),
    )


@bp.post("/courses/<uuid:course_id>/reopen")
@require(Permission.COURSE_RUN)
def reopen(course_id: uuid.UUID) -> Response:
    return _trainer_action(
        course_id, lambda c: courses.reopen(db(), user(), c), _("The course is open again.")
    )


@bp.post("/courses/<uuid:course_id>/delete")
@require(Permission.COURSE_RUN)
def delete(course_id: uuid.UUID) -> Response:
    found = _course(course_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    courses.delete_course(db(), user(), found)
    flash(_("The course and its ratings were deleted."), "success")
    return redirect(url_for("training.courses_overview"))


@bp.get("/courses/<uuid:course_id>/export.csv")
@require(Permission.COURSE_RUN)
def export(course_id: uuid.UUID) -> Response:
    found = _course(course_id)
    text = courses.export_csv(db(), user(), found, state().vignettes, state().instruments)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="course-{found.join_code}.csv"'},
    )


# -- participants ---------------------------------------------------------------------------


def _participant() -> CourseParticipant | None:
    raw = session.get(PARTICIPANT_KEY)
    if not isinstance(raw, str):
        return None
    try:
        ident = uuid.UUID(raw)
    except ValueError:
        return None
    return db().get(CourseParticipant, ident)


def participant_only(view: F) -> F:
    """A participant's page: reached only with a participant key of a course that still
    exists; anyone else goes to the join page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        person = _participant()
        course = None if person is None else db().get(CourseSession, person.course_id)
        if person is None or course is None:
            session.pop(PARTICIPANT_KEY, None)
            return redirect(url_for("training.join"))
        g.participant, g.course = person, course
        return view(*args, **kwargs)

    return public(cast(F, wrapper))


def _me() -> tuple[CourseParticipant, CourseSession]:
    return cast(CourseParticipant, g.participant), cast(CourseSession, g.course)


@bp.route("/join", methods=["GET", "POST"])
@limiter.limit(JOIN_LIMIT, key_func=get_remote_address, methods=["POST"])
@limiter.limit(WRONG_CODE_LIMIT, key_func=get_remote_address, methods=["POST"], deduct_when=failed)
@public
def join() -> Response | str:
    form = JoinForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:12]
    error = None
    if form.validate_on_submit():
        try:
            person = courses.join(db(), form.code.data or "", form.display_name.data or "")
        except DomainError as exc:
            mark_failed()
            error = _(exc.message)
        else:
            session[PARTICIPANT_KEY] = str(person.id)
            return redirect(url_for("training.my_course"))
    elif form.is_submitted():
        error = _("Enter the course code and a name to show.")
    return render_template("training/join.html", form=form, error=error)


@bp.get("/course")
@participant_only
def my_course() -> str:
    person, found = _me()
    rows = []
    for key in found.vignettes:
        loaded = _load(key)
        if loaded is None:
            continue
        rating = courses.own_rating(db(), person, loaded[0])
        rows.append((loaded[0], loaded[1], rating))
    return render_template(
        "training/my_course.html", person=person, course=found, rows=rows, button=ButtonForm()
    )


@bp.post("/course/leave")
@participant_only
def leave() -> Response:
    if not ButtonForm().validate_on_submit():
        abort(400)
    session.pop(PARTICIPANT_KEY, None)
    flash(_("You have left the course. Your submitted ratings stay with it."), "success")
    return redirect(url_for("training.join"))


@dataclass(frozen=True)
class CourseLinks:
    """The section navigation's addresses for a participant's rating of one vignette."""

    vignette: Vignette

    def _to(self, endpoint: str, **more: Any) -> str:
        v = self.vignette
        return url_for(endpoint, vignette_id=v.id, version=v.version, **more)

    def rate(self, domain_code: str) -> str:
        return self._to("training.rate", domain_code=domain_code)

    def judgement(self) -> str:
        return self._to("training.judgement")

    def after_sections(self) -> str:
        return self.judgement()

    def summary(self) -> str:
        return self._to("training.vignette")


def _my_rating(
    vignette_id: str, version: str
) -> tuple[CourseSession, Vignette, Instrument, CourseRating]:
    person, found = _me()
    vignette, instrument = _vignette(found, vignette_id, version)
    rating = courses.own_rating(db(), person, vignette, create=True)
    if rating is None:  # created when missing: never None
        abort(404)
    return found, vignette, instrument, rating


@bp.get("/course/vignettes/<vignette_id>/<version>")
@participant_only
def vignette(vignette_id: str, version: str) -> str:
    found, vig, instrument, rating = _my_rating(vignette_id, version)
    content = rating.read()
    return render_template(
        "training/vignette.html",
        course=found,
        vignette=vig,
        instrument=instrument,
        rating=rating,
        content=content,
        summary=summarize(instrument, content),
        sections=section_progress(instrument, content),
        links=CourseLinks(vig),
        problems=courses.open_problems(instrument, content),
        button=ButtonForm(),
    )


def _editable(
    vignette_id: str, version: str
) -> tuple[CourseSession, Vignette, Instrument, CourseRating] | Response:
    found, vig, instrument, rating = _my_rating(vignette_id, version)
    if not found.is_open or rating.submitted_dt is not None:
        flash(_(courses.COURSE_CLOSED if not found.is_open else courses.ALREADY_SUBMITTED), "error")
        return redirect(CourseLinks(vig).summary())
    return found, vig, instrument, rating


def _save(
    found: CourseSession, rating: CourseRating, content: Content, based_on: int
) -> str | None:
    try:
        courses.save_rating(db(), found, rating, content, based_on)
    except EditConflict:
        return str(
            _(
                "This rating was saved from another window after you opened it. Nothing was "
                "saved: reload the page and enter it again."
            )
        )
    except DomainError as exc:
        return str(_(exc.message))
    flash(_("Saved."), "success")
    return None


@bp.route("/course/vignettes/<vignette_id>/<version>/rate/<domain_code>", methods=["GET", "POST"])
@participant_only
def rate(vignette_id: str, version: str, domain_code: str) -> Response | str:
    loaded = _editable(vignette_id, version)
    if isinstance(loaded, Response):
        return loaded
    found, vig, instrument, rating = loaded
    domain = domain_or_404(instrument, domain_code)
    content = rating.read()
    links = CourseLinks(vig)
    form = domain_form(instrument, domain, locale(), content, rating.lock_version)
    error = None
    if form.validate_on_submit():
        error = _save(found, rating, form.apply(content), form.based_on_version())
        if error is None:
            return redirect(after_saving(links, instrument, domain, "next" in request.form))
    elif form.is_submitted():
        error = _("Nothing was saved. Correct the marked fields.")
    return render_template(
        "training/rate.html",
        form=form,
        domain=domain,
        vignette=vig,
        instrument=instrument,
        links=links,
        sections=section_progress(instrument, content),
        error=error,
    )


@bp.route("/course/vignettes/<vignette_id>/<version>/judgement", methods=["GET", "POST"])
@participant_only
def judgement(vignette_id: str, version: str) -> Response | str:
    loaded = _editable(vignette_id, version)
    if isinstance(loaded, Response):
        return loaded
    found, vig, instrument, rating = loaded
    content = rating.read()
    links = CourseLinks(vig)
    form = judgement_form(instrument, locale(), content, rating.lock_version)
    error = None
    if form.validate_on_submit():
        error = _save(found, rating, form.apply(content), form.based_on_version())
        if error is None:
            return redirect(links.summary())
    elif form.is_submitted():
        error = _("Nothing was saved. Correct the marked fields.")
    return render_template(
        "training/judgement.html",
        form=form,
        vignette=vig,
        instrument=instrument,
        links=links,
        summary=summarize(instrument, content),
        sections=section_progress(instrument, content),
        error=error,
    )


@bp.post("/course/vignettes/<vignette_id>/<version>/submit")
@participant_only
def submit(vignette_id: str, version: str) -> Response:
    found, vig, instrument, rating = _my_rating(vignette_id, version)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        courses.submit_rating(db(), found, rating, instrument)
    except courses.Incomplete as exc:
        items = [p.item for p in exc.problems if p.item]
        if items:
            flash(_("Not rated yet: %(items)s.", items=", ".join(items)), "error")
        if any(p.item is None for p in exc.problems):
            flash(_("Choose the overall judgement."), "error")
        return redirect(CourseLinks(vig).summary())
    except DomainError as exc:
        flash(_(exc.message), "error")
        return redirect(CourseLinks(vig).summary())
    flash(_("Submitted. Your trainer sees that you have finished this vignette."), "success")
    return redirect(url_for("training.my_course"))


@bp.get("/course/vignettes/<vignette_id>/<version>/feedback")
@participant_only
def feedback(vignette_id: str, version: str) -> Response | str:
    found, vig, instrument, rating = _my_rating(vignette_id, version)
    if not found.is_revealed:
        flash(_(courses.NOT_REVEALED), "error")
        return redirect(url_for("training.my_course"))
    return render_template(
        "training/feedback.html",
        course=found,
        vignette=vig,
        instrument=instrument,
        rating=rating,
        content=rating.read(),
        reference=vig.reference_content(),
    )
