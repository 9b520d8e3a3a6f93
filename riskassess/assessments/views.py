"""Assessment pages. Each view: load (404) -> authorize -> validate -> one service -> render."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from riskassess.accounts import raters
from riskassess.accounts.throttle import mark_failed, throttle_signing
from riskassess.assessments import feedback, policy, reading, services
from riskassess.assessments.case_text import Approval, case_file_text
from riskassess.assessments.content import Content, section_progress, summarize
from riskassess.assessments.forms import (
    CorrectionForm,
    FeedbackForm,
    ReportRevealForm,
    ReviewForm,
    StartAssessmentForm,
    SubmitForm,
    WithdrawForm,
    domain_form,
    judgement_form,
)
from riskassess.assessments.models import Assessment
from riskassess.assessments.report import ReportView, read_report
from riskassess.assessments.sections import after_saving, domain_or_404
from riskassess.assessments.workflow import Action, State, allowed
from riskassess.cases import policy as cases_policy
from riskassess.cases.models import Case
from riskassess.cases.services import emergency_accesses_to_review
from riskassess.cases.views import load_case, refuse
from riskassess.core.db import utcnow
from riskassess.core.localtime import local_today
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied, DomainError, EditConflict
from riskassess.i18n import lazy_gettext as _l
from riskassess.instruments.definition import Instrument
from riskassess.web import db, instrument_of, locale, require, state, user, vault

bp = Blueprint("assessments", __name__)

CONFLICT = _l(
    "Someone else saved this assessment after you opened it. Nothing was saved: "
    "copy what you wrote, reload the page and enter it again."
)
NOT_REGISTERED = _l(
    "You are not registered as trained in this instrument. This is recorded on the "
    "assessment, and your supervisor sees it when reviewing."
)


# What the case record around the ratings still lacks, by bbic.record_problems' code.
RECORD_GAPS = {
    "no_phase": _l("The BBIC phase is needed (Investigation and sources)."),
    "no_reference": _l("The investigation's reference is needed (Investigation and sources)."),
    "no_date": _l("The date of the assessment is needed (Investigation and sources)."),
    "no_sources": _l("At least one information source is needed (Investigation and sources)."),
    "no_child_view": _l(
        "The child's view, or why it could not be obtained, is needed (Views of the child "
        "and guardians)."
    ),
    "no_guardian_view": _l(
        "A guardian's view, or why none could be obtained, is needed (Views of the child "
        "and guardians)."
    ),
    "no_risk_specification": _l(
        "The kind of risk and the timeframe of the judgement are needed (Judgement and plan)."
    ),
}


@dataclass(frozen=True)
class SectionLinks:
    """Where the section navigation of an assessment's rating pages leads."""

    assessment_id: uuid.UUID

    def rate(self, domain_code: str) -> str:
        return url_for(
            "assessments.rate", assessment_id=self.assessment_id, domain_code=domain_code
        )

    def judgement(self) -> str:
        return url_for("assessments.judgement", assessment_id=self.assessment_id)

    def investigation(self) -> str:
        return url_for("record.investigation", assessment_id=self.assessment_id)

    def voices(self) -> str:
        return url_for("record.voices", assessment_id=self.assessment_id)

    def after_sections(self) -> str:
        """After the ratings, the views of the child and the guardians."""
        return self.voices()

    def summary(self) -> str:
        return url_for("assessments.show", assessment_id=self.assessment_id)


def assessment_links(assessment: Assessment) -> SectionLinks:
    return SectionLinks(assessment.id)


def _started(assessment: Assessment) -> Response:
    """To the first page of a new draft, its link to the investigation, saying so if its
    author is not a registered trained rater for the instrument."""
    if assessment.is_rater_registered is False:
        flash(str(NOT_REGISTERED), "warning")
    return redirect(url_for("record.investigation", assessment_id=assessment.id))


def load_assessment(assessment_id: uuid.UUID) -> tuple[Assessment, Case, Instrument]:
    found = services.get_assessment(db(), assessment_id)
    if found is None:
        abort(404)
    assessment, case = found
    return assessment, case, instrument_of(assessment)


def _to_show(assessment: Assessment) -> Response:
    return redirect(url_for("assessments.show", assessment_id=assessment.id))


@bp.post("/cases/<uuid:case_id>/assessments")
@require(Permission.ASSESSMENT_CREATE)
def start(case_id: uuid.UUID) -> Response:
    case = load_case(case_id)
    form = StartAssessmentForm(state().instruments.all(), [], locale())
    instrument = form.chosen_instrument() if form.validate_on_submit() else None
    if instrument is None:
        flash(_("Nothing was started."), "error")
        for field in (form.instrument, form.carry, form.eligibility_reason):
            if field is form.instrument and field.errors:
                flash(_("Choose an instrument."), "error")
            elif field.errors:
                flash(f"{field.label.text}: {' '.join(map(str, field.errors))}", "error")
        return redirect(url_for("cases.show_case", case_id=case.id))
    try:
        assessment = services.start_assessment(
            db(),
            vault(),
            user(),
            case,
            instrument,
            form.eligibility_reason.data or "",
            confirmed_historical=form.carry.data or [],
        )
    except AccessDenied:
        abort(403)
    except services.OpenAssessmentExists as exc:
        flash(_(exc.message), "warning")
        return redirect(url_for("assessments.show", assessment_id=exc.assessment.id))
    except DomainError as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("cases.show_case", case_id=case.id))
    return _started(assessment)


@bp.get("/assessments/<uuid:assessment_id>")
@require(Permission.ASSESSMENT_READ)
def show(assessment_id: uuid.UUID) -> str:
    assessment, case, instrument = load_assessment(assessment_id)
    return _render_show(assessment, case, instrument)


def _render_show(
    assessment: Assessment,
    case: Case,
    instrument: Instrument,
    review_form: ReviewForm | None = None,
    feedback_form: FeedbackForm | None = None,
) -> str:
    """The summary page; `review_form` or `feedback_form` is a posted form to show again with
    its errors."""
    try:
        view = reading.read_assessment(db(), vault(), user(), case, assessment)
    except AccessDenied:
        refuse(case)
    now = State(assessment.state)
    may_edit = policy.can_edit_assessment(user(), case)
    if not (policy.can_review_assessment(user(), case) and allowed(now, Action.APPROVE)):
        review_form = None
    elif review_form is None:
        review_form = ReviewForm()
    if not (may_edit and now is State.APPROVED):
        feedback_form = None
    elif feedback_form is None:
        feedback_form = FeedbackForm(local_today())
    return render_template(
        "assessments/show.html",
        view=view,
        assessment=assessment,
        case=case,
        instrument=instrument,
        summary=summarize(instrument, view.content),
        review_form=review_form,
        feedback_form=feedback_form,
        feedback=feedback.feedback_of(db(), vault(), case, assessment),
        submit_form=SubmitForm() if may_edit and allowed(now, Action.SUBMIT) else None,
        withdraw_form=WithdrawForm() if may_edit and allowed(now, Action.WITHDRAW) else None,
        correction_form=CorrectionForm()
        if policy.can_start_assessment(user(), case) and now is State.APPROVED
        else None,
        registered=raters.registered_instruments(db(), user().id),
        can_edit=may_edit and allowed(now, Action.EDIT),
        sections=section_progress(instrument, view.content),
    )


@bp.get("/assessments/<uuid:assessment_id>/report")
@require(Permission.ASSESSMENT_READ)
def report(assessment_id: uuid.UUID) -> str:
    """The print-ready report; opening it is audited as a print. The research index is left
    off unless asked for (`?research=1`): a sum in a case file invites use as a score."""
    assessment, case, instrument = load_assessment(assessment_id)
    include_research = request.args.get("research") == "1"
    try:
        printed = read_report(
            db(), vault(), user(), case, assessment, include_research=include_research
        )
    except AccessDenied:
        refuse(case)
    return _render_report(case, instrument, printed)


@bp.post("/assessments/<uuid:assessment_id>/report")
@require(Permission.ASSESSMENT_READ)
def report_reveal(assessment_id: uuid.UUID) -> Response | str:
    """The report with a protected identity printed on it, for a stated, logged reason (the
    case page's rule and record)."""
    assessment, case, instrument = load_assessment(assessment_id)
    form = ReportRevealForm()
    back = url_for("assessments.report", assessment_id=assessment.id)
    if form.research.data:
        back = url_for("assessments.report", assessment_id=assessment.id, research="1")
    if not form.validate_on_submit():
        flash(_("Choose the reason for viewing the protected identity."), "error")
        return redirect(back)
    try:
        printed = read_report(
            db(),
            vault(),
            user(),
            case,
            assessment,
            reveal_purpose=form.purpose.data,
            reveal_note=form.note.data or "",
            include_research=bool(form.research.data),
        )
    except AccessDenied:
        refuse(case)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return redirect(back)
    return _render_report(case, instrument, printed)


def _approval(printed: ReportView) -> Approval | None:
    """The approval the report can name: the last approve decision of an approved content."""
    if printed.view.assessment.content_hash is None:
        return None
    approvals = [d for d in printed.view.decisions if d.decision == Action.APPROVE.value]
    if not approvals:
        return None
    return Approval(approvals[-1].author_name, approvals[-1].created_dt)


def _render_report(case: Case, instrument: Instrument, printed: ReportView) -> str:
    summary = summarize(instrument, printed.view.content)
    reveal_form = None
    if printed.identity is None and cases_policy.can_reveal_identity(user(), case):
        reveal_form = ReportRevealForm(formdata=None, research=printed.include_research)
    return render_template(
        "assessments/report.html",
        view=printed.view,
        printed=printed,
        case=case,
        instrument=instrument,
        summary=summary,
        reveal_form=reveal_form,
        feedback=feedback.feedback_of(db(), vault(), case, printed.view.assessment),
        printed_dt=utcnow(),
        case_text=case_file_text(
            instrument, printed.view.content, summary.critical, _approval(printed), locale()
        ),
    )


def _editable(
    assessment_id: uuid.UUID, *, with_previous: bool = False
) -> tuple[Assessment, Case, Instrument, reading.AssessmentView] | Response:
    """Load an assessment for editing, or the redirect to its page when it cannot be edited.
    `with_previous`: a reassessment comes with the assessment it started from."""
    assessment, case, instrument = load_assessment(assessment_id)
    if not policy.can_edit_assessment(user(), case):
        services.deny_assessment(db(), user(), "case:assessment:update", assessment)
        abort(403)
    if not allowed(State(assessment.state), Action.EDIT):
        flash(_("This assessment can no longer be changed."), "error")
        return _to_show(assessment)
    view = reading.read_assessment(
        db(), vault(), user(), case, assessment, with_previous=with_previous
    )
    return assessment, case, instrument, view


def _save(case: Case, assessment: Assessment, content: Content, based_on: int) -> str | None:
    """Save through the service; return the error to show, or None when saved."""
    try:
        services.save_assessment(db(), vault(), user(), case, assessment, content, based_on)
    except EditConflict:
        return str(CONFLICT)
    flash(_("Saved."), "success")
    return None


@bp.route("/assessments/<uuid:assessment_id>/rate/<domain_code>", methods=["GET", "POST"])
@require(Permission.ASSESSMENT_EDIT)
def rate(assessment_id: uuid.UUID, domain_code: str) -> Response | str:
    """One section's ratings. A reassessment shows each item's previous rating beside it."""
    loaded = _editable(assessment_id, with_previous=True)
    if isinstance(loaded, Response):
        return loaded
    assessment, case, instrument, view = loaded
    content = view.content
    domain = domain_or_404(instrument, domain_code)
    previous = view.previous
    form = domain_form(
        instrument,
        domain,
        locale(),
        content,
        assessment.lock_version,
        previous=None if previous is None else previous.content,
    )
    error = None
    if form.validate_on_submit():
        error = _save(case, assessment, form.apply(content), form.based_on_version())
        if error is None:
            links = assessment_links(assessment)
            return redirect(after_saving(links, instrument, domain, "next" in request.form))
    elif form.is_submitted():
        error = _("Nothing was saved. Correct the marked fields.")
    return render_template(
        "assessments/rate.html",
        form=form,
        domain=domain,
        case=case,
        assessment=assessment,
        instrument=instrument,
        sections=section_progress(instrument, content),
        error=error,
        returned=view.returned_with,
        previous=previous,
    )


@bp.route("/assessments/<uuid:assessment_id>/judgement", methods=["GET", "POST"])
@require(Permission.ASSESSMENT_EDIT)
def judgement(assessment_id: uuid.UUID) -> Response | str:
    loaded = _editable(assessment_id)
    if isinstance(loaded, Response):
        return loaded
    assessment, case, instrument, view = loaded
    content = view.content
    form = judgement_form(instrument, locale(), content, assessment.lock_version)
    error = None
    if form.validate_on_submit():
        error = _save(case, assessment, form.apply(content), form.based_on_version())
        if error is None:
            return _to_show(assessment)
    elif form.is_submitted():
        error = _("Nothing was saved. Correct the marked fields.")
    return render_template(
        "assessments/judgement.html",
        form=form,
        case=case,
        assessment=assessment,
        instrument=instrument,
        summary=summarize(instrument, content),
        sections=section_progress(instrument, content),
        error=error,
        returned=view.returned_with,
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
        _explain(exc)
        return _to_show(assessment)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return _to_show(assessment)
    flash(_("Submitted for review."), "success")
    return _to_show(assessment)


def _explain(exc: services.IncompleteAssessment) -> None:
    """One message per kind of gap, naming the items."""
    unrated = [p.item for p in exc.problems if p.kind == "unrated" and p.item]
    invalid = [p.item for p in exc.problems if p.kind == "invalid" and p.item]
    no_rationale = [p.item for p in exc.problems if p.kind == "no_rationale" and p.item]
    if unrated:
        flash(_("Not rated yet: %(items)s.", items=", ".join(unrated)), "error")
    if invalid:
        flash(
            _("Not a value of the instrument, rate again: %(items)s.", items=", ".join(invalid)),
            "error",
        )
    if no_rationale:
        flash(_("Rationale missing: %(items)s.", items=", ".join(no_rationale)), "error")
    not_previous = [p.item for p in exc.problems if p.kind == "not_previous" and p.item]
    if not_previous:
        flash(
            _(
                "Marked as unchanged but not rated as in the previous assessment, rate again: "
                "%(items)s.",
                items=", ".join(not_previous),
            ),
            "error",
        )
    stale = [p.item for p in exc.problems if p.kind == "no_fresh_note" and p.item]
    if stale:
        flash(
            _(
                "Confirmed as unchanged with the previous rationale only, write what you "
                "checked this time: %(items)s.",
                items=", ".join(stale),
            ),
            "error",
        )
    if any(p.kind in ("no_judgement", "invalid_judgement", "no_reason") for p in exc.problems):
        flash(_("The overall judgement and its reasons are needed (Judgement and plan)."), "error")
    for problem in exc.problems:
        if problem.kind in RECORD_GAPS:
            flash(str(RECORD_GAPS[problem.kind]), "error")
    for problem in exc.problems:
        if problem.rule is not None:
            message = problem.rule.message.get(locale())
            flash(_("A reason is needed: %(warning)s", warning=message), "error")


@bp.post("/assessments/<uuid:assessment_id>/withdraw")
@require(Permission.ASSESSMENT_EDIT)
def withdraw(assessment_id: uuid.UUID) -> Response:
    assessment, case, _instrument = load_assessment(assessment_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("A reason is needed to withdraw an assessment."), "error")
        return _to_show(assessment)
    try:
        services.withdraw_assessment(db(), vault(), user(), case, assessment, form.reason.data)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return _to_show(assessment)
    flash(_("The assessment was withdrawn."), "success")
    return _to_show(assessment)


@bp.post("/assessments/<uuid:assessment_id>/correct")
@require(Permission.ASSESSMENT_CREATE)
def correct(assessment_id: uuid.UUID) -> Response:
    assessment, case, _instrument = load_assessment(assessment_id)
    form = CorrectionForm()
    if not form.validate_on_submit():
        flash(_("A reason is needed to correct an approved assessment."), "error")
        return _to_show(assessment)
    try:
        correction = services.start_correction(
            db(), vault(), user(), case, assessment, form.reason.data
        )
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return _to_show(assessment)
    return _started(correction)


@bp.get("/reviews")
@require(Permission.ASSESSMENT_REVIEW)
def review_queue() -> str:
    rows = reading.review_queue(db(), vault(), user(), instrument_of)
    accesses = emergency_accesses_to_review(db(), user())
    return render_template("assessments/queue.html", rows=rows, accesses=accesses)


@bp.post("/assessments/<uuid:assessment_id>/review")
@throttle_signing
@require(Permission.ASSESSMENT_REVIEW)
def review(assessment_id: uuid.UUID) -> Response | str:
    """Approve (signed with the password) or return. A form that needs correcting, or a wrong
    password, shows the page again with the typed comment and the decision kept and the
    message beside the field; the form's address ends in #review, so the browser opens the
    page at the form, not at the top of the long summary."""
    assessment, case, instrument = load_assessment(assessment_id)
    if not policy.can_review_assessment(user(), case):
        services.deny_assessment(db(), user(), "case:assessment:review", assessment)
        abort(403)
    form = ReviewForm()
    if not form.validate_on_submit():
        if not allowed(State(assessment.state), Action.APPROVE):  # decided meanwhile
            flash(_("This step is not possible in the assessment's current state."), "error")
            return _to_show(assessment)
        return _render_show(assessment, case, instrument, review_form=form)
    comment = form.comment.data or ""
    try:
        if form.decision.data == "approve":
            services.approve_assessment(
                db(),
                vault(),
                state().passwords,
                user(),
                case,
                assessment,
                instrument,
                comment,
                form.password.data or "",
            )
            flash(_("The assessment is approved and signed."), "success")
        else:
            services.return_assessment(db(), vault(), user(), case, assessment, comment)
            flash(_("The assessment was returned to the caseworker."), "success")
    except AccessDenied:
        abort(403)
    except services.SignatureRefused as exc:
        mark_failed()  # counts towards the signing throttle
        form.password.errors = [_(exc.message)]
        return _render_show(assessment, case, instrument, review_form=form)
    except DomainError as exc:
        flash(_(exc.message), "error")
    return _to_show(assessment)


@bp.get("/cases/<uuid:case_id>/compare")
@require(Permission.ASSESSMENT_READ)
def compare(case_id: uuid.UUID) -> str:
    """Up to four assessments of the case with the same instrument, side by side."""
    case = load_case(case_id)
    wanted = set(request.args.getlist("a"))
    candidates = [
        a for a in services.case_assessments(db(), case) if a.state != State.WITHDRAWN.value
    ]
    chosen = [a for a in candidates if str(a.id) in wanted] or candidates[: reading.MAX_COMPARED]
    if {a.instrument_id for a in chosen} and len({a.instrument_id for a in chosen}) > 1:
        flash(_("Only assessments made with the same instrument can be compared."), "error")
        first = chosen[0].instrument_id
        chosen = [a for a in chosen if a.instrument_id == first]
    try:
        columns = reading.compare_assessments(db(), vault(), user(), case, chosen)
    except AccessDenied:
        refuse(case)
    instruments = [instrument_of(a) for a, _content in columns]
    return render_template(
        "assessments/compare.html",
        case=case,
        candidates=candidates,
        columns=columns,
        instrument=instruments[-1] if instruments else None,
        summaries=[summarize(i, c) for i, (_a, c) in zip(instruments, columns, strict=True)],
    )
