from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from riskassess.assessments import policy, services
from riskassess.assessments.content import applicable_rules, progress, research_index
from riskassess.assessments.forms import ReviewForm, StartAssessmentForm, SubmitForm, rating_form
from riskassess.assessments.models import Assessment
from riskassess.assessments.workflow import Action, State, allowed
from riskassess.cases.models import Case
from riskassess.cases.views import load_case
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied, DomainError, EditConflict
from riskassess.instruments.definition import Instrument
from riskassess.instruments.services import definition_for
from riskassess.web import db, locale, require, state, user, vault

bp = Blueprint("assessments", __name__)


def load_assessment(assessment_id: uuid.UUID) -> tuple[Assessment, Case, Instrument]:
    assessment = db().get(Assessment, assessment_id)
    if assessment is None:
        abort(404)
    instrument = definition_for(
        db(),
        state().instruments,
        assessment.instrument_id,
        assessment.instrument_version,
        assessment.instrument_hash,
    )
    return assessment, load_case(assessment.case_id), instrument


@bp.post("/cases/<uuid:case_id>/assessments")
@require(Permission.ASSESSMENT_CREATE)
def start(case_id: uuid.UUID) -> Response:
    case = load_case(case_id)
    form = StartAssessmentForm(state().instruments.all(), [], locale())
    if not form.validate_on_submit():
        flash(_("Choose an instrument."), "error")
        return redirect(url_for("cases.show_case", case_id=case.id))
    instrument_id, _sep, version = (form.instrument.data or "").partition("@")
    instrument = state().instruments.get(instrument_id, version)
    if instrument is None:
        abort(400)
    try:
        assessment = services.start_assessment(
            db(), vault(), user(), case, instrument, form.eligibility_reason.data or ""
        )
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("cases.show_case", case_id=case.id))
    return redirect(url_for("assessments.edit", assessment_id=assessment.id))


@bp.get("/assessments/<uuid:assessment_id>")
@require(Permission.ASSESSMENT_READ)
def show(assessment_id: uuid.UUID) -> str:
    assessment, case, instrument = load_assessment(assessment_id)
    try:
        view = services.read_assessment(db(), vault(), user(), case, assessment)
    except AccessDenied:
        abort(403)
    state_now = State(assessment.state)
    can_review = policy.can_review_assessment(user(), case) and allowed(state_now, Action.APPROVE)
    can_edit = policy.can_edit_assessment(user(), case) and allowed(state_now, Action.EDIT)
    can_submit = policy.can_edit_assessment(user(), case) and allowed(state_now, Action.SUBMIT)
    return render_template(
        "assessments/show.html",
        view=view,
        case=case,
        instrument=instrument,
        progress=progress(instrument, view.content),
        warnings=applicable_rules(instrument, view.content),
        research=research_index(instrument, view.content),
        review_form=ReviewForm() if can_review else None,
        submit_form=SubmitForm() if can_submit else None,
        can_edit=can_edit,
    )


@bp.route("/assessments/<uuid:assessment_id>/edit", methods=["GET", "POST"])
@require(Permission.ASSESSMENT_EDIT)
def edit(assessment_id: uuid.UUID) -> Response | str:
    assessment, case, instrument = load_assessment(assessment_id)
    try:
        view = services.read_assessment(db(), vault(), user(), case, assessment)
    except AccessDenied:
        abort(403)
    if not policy.can_edit_assessment(user(), case):
        abort(403)
    if not allowed(State(assessment.state), Action.EDIT):
        flash(_("This assessment can no longer be changed."), "error")
        return redirect(url_for("assessments.show", assessment_id=assessment.id))
    form = rating_form(instrument, locale(), view.content, assessment.lock_version)
    error = None
    if form.validate_on_submit():
        based_on = form.based_on_version()
        try:
            services.save_assessment(
                db(),
                vault(),
                user(),
                case,
                assessment,
                form.to_content(),
                -1 if based_on is None else based_on,
            )
        except EditConflict:
            error = _(
                "Someone else saved this assessment after you opened it. Nothing was saved: "
                "copy what you wrote, reload the page and enter it again."
            )
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("assessments.show", assessment_id=assessment.id))
    elif form.is_submitted():
        error = _("Some answers could not be saved. See the marked fields.")
    return render_template(
        "assessments/edit.html",
        form=form,
        case=case,
        assessment=assessment,
        instrument=instrument,
        progress=progress(instrument, view.content),
        warnings=applicable_rules(instrument, view.content),
        error=error,
    )


@bp.post("/assessments/<uuid:assessment_id>/submit")
@require(Permission.ASSESSMENT_SUBMIT)
def submit(assessment_id: uuid.UUID) -> Response:
    assessment, case, instrument = load_assessment(assessment_id)
    if not SubmitForm().validate_on_submit():
        abort(400)
    try:
        services.submit_assessment(db(), vault(), user(), case, assessment, instrument)
    except AccessDenied:
        abort(403)
    except services.IncompleteAssessment as exc:
        unrated = [p.item for p in exc.problems if p.kind == "unrated" and p.item]
        no_rationale = [p.item for p in exc.problems if p.kind == "no_rationale" and p.item]
        if unrated:
            flash(_("Not rated yet: %(items)s.", items=", ".join(unrated)), "error")
        if no_rationale:
            flash(_("Rationale missing: %(items)s.", items=", ".join(no_rationale)), "error")
        if any(p.kind in ("no_judgement", "no_reason") for p in exc.problems):
            flash(_("The overall judgement and its reasons are needed."), "error")
        for problem in exc.problems:
            if problem.rule is not None:
                flash(
                    _(
                        "A reason is needed: %(warning)s",
                        warning=problem.rule.message.get(locale()),
                    ),
                    "error",
                )
        return redirect(url_for("assessments.show", assessment_id=assessment.id))
    except DomainError:
        flash(_("This step is not possible in the assessment's current state."), "error")
        return redirect(url_for("assessments.show", assessment_id=assessment.id))
    flash(_("Submitted for review."), "success")
    return redirect(url_for("assessments.show", assessment_id=assessment.id))


@bp.get("/reviews")
@require(Permission.ASSESSMENT_REVIEW)
def review_queue() -> str:
    return render_template("assessments/queue.html", rows=services.review_queue(db(), user()))


@bp.post("/assessments/<uuid:assessment_id>/review")
@require(Permission.ASSESSMENT_REVIEW)
def review(assessment_id: uuid.UUID) -> Response:
    assessment, case, _instrument = load_assessment(assessment_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("Choose whether to approve or return the assessment."), "error")
        return redirect(url_for("assessments.show", assessment_id=assessment.id))
    comment = form.comment.data or ""
    try:
        if form.decision.data == "approve":
            services.approve_assessment(db(), vault(), user(), case, assessment, comment)
            flash(_("The assessment is approved."), "success")
        else:
            services.return_assessment(db(), vault(), user(), case, assessment, comment)
            flash(_("The assessment was returned to the caseworker."), "success")
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    return redirect(url_for("assessments.show", assessment_id=assessment.id))
