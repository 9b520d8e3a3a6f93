from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from typing import NoReturn

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from riskassess.accounts import raters
from riskassess.assessments import policy as assessment_policy
from riskassess.assessments.followup import open_follow_ups, reassessment_due
from riskassess.assessments.forms import StartAssessmentForm
from riskassess.assessments.models import Assessment
from riskassess.assessments.reading import reassessment_bases
from riskassess.assessments.services import case_assessments
from riskassess.assessments.workflow import State
from riskassess.cases import duplicates, listing, policy, retention, services
from riskassess.cases.forms import (
    HOLD_REASON_LABELS,
    AccessReviewForm,
    AssignForm,
    CaseForm,
    CloseForm,
    EmergencyForm,
    MergeForm,
    ProtectionForm,
    RetentionHoldForm,
    RetentionReleaseForm,
    RevealForm,
    SearchForm,
    TransferDecisionForm,
    TransferRequestForm,
)
from riskassess.cases.models import Case, CaseAccess, CaseStatus
from riskassess.core.localtime import local_today
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied, DomainError
from riskassess.web import (
    ClosedCaseForbidden,
    db,
    instrument_of,
    locale,
    require,
    state,
    user,
    vault,
)

bp = Blueprint("cases", __name__)


def load_case(case_id: uuid.UUID) -> Case:
    case = services.get_case(db(), case_id)
    if case is None:
        abort(404)
    return case


def refuse(case: Case) -> NoReturn:
    """Answer a refused read with 403; for a closed case, a page that says why."""
    if policy.is_case_closed_to(user(), case):
        raise ClosedCaseForbidden()
    abort(403)


def start_assessment_form(case: Case, registered: Collection[str]) -> StartAssessmentForm:
    """The instrument choice for this child: those meant for the child's age and sex first;
    the instruments the user is not registered as trained in are marked."""
    born, sex = services.eligibility_basis(db(), vault(), case)
    age = services.age_on(born, date.today())
    instruments = state().instruments.all()
    eligible = [i for i in instruments if i.applies_to(age, sex)]
    others = [i for i in instruments if not i.applies_to(age, sex)]
    return StartAssessmentForm(eligible, others, locale(), registered=registered)


@bp.get("/cases")
@require(Permission.CASE_LIST)
def list_cases() -> str:
    """The unit's cases or the user's own, filtered by status, a page at a time. The filters
    are in the query string: they say nothing about any child."""
    mine = request.args.get("scope", "unit") == "mine"
    status = request.args.get("status") or None
    try:
        page_number = int(request.args.get("page", "1"))
    except ValueError:
        page_number = 1
    today = local_today()
    page = listing.list_cases(
        db(),
        vault(),
        user(),
        mine=mine,
        status=status,
        page=page_number,
        instrument_of=instrument_of,
        today=today,
    )
    return render_template(
        "cases/list.html",
        page=page,
        mine=mine,
        status=status,
        is_filtered=mine or status in (CaseStatus.OPEN, CaseStatus.CLOSED),
        today=today,
    )


@bp.route("/cases/new", methods=["GET", "POST"])
@require(Permission.CASE_CREATE)
def new_case() -> Response | str:
    form = CaseForm()
    if form.validate_on_submit():
        assert form.normalized_pnr and form.birth_date and form.sex
        identity = services.Identity(
            name=(form.name.data or "").strip(),
            personnummer=form.normalized_pnr,
            birth_date=form.birth_date,
            sex=form.sex,
        )
        try:
            case = services.create_case(
                db(), vault(), user(), identity, is_protected=bool(form.is_protected.data)
            )
        except AccessDenied:
            abort(403)
        except services.CaseExists as exc:
            return _case_exists(exc, form.personnummer.data or "")
        return redirect(url_for("cases.show_case", case_id=case.id))
    return render_template("cases/new.html", form=form)


def _case_exists(exc: services.CaseExists, personnummer: str) -> Response | str:
    """One child, one case. In one's own unit: to that case. In another unit: only that a case
    exists there, with the two ways on (emergency access, a transfer request); neither the unit,
    the case number nor anything about the child is told."""
    if exc.same_unit:
        if exc.reopened:
            flash(
                _(
                    "The child already had a case in your unit. It was closed and is now"
                    " reopened; no new case was created."
                ),
                "warning",
            )
        else:
            flash(
                _(
                    "The child already has a case in your unit. It is shown here; no new case"
                    " was created."
                ),
                "warning",
            )
        return redirect(url_for("cases.show_case", case_id=exc.case.id))
    return render_template(
        "cases/exists_elsewhere.html",
        emergency_form=EmergencyForm(formdata=None, personnummer=personnummer),
        transfer_form=TransferRequestForm(formdata=None, personnummer=personnummer),
        hours=services.EMERGENCY_HOURS,
    )


def _untrained(registered: Collection[str]) -> list[str]:
    """The titles of the instruments the user is not registered as trained in (each once,
    whatever its versions)."""
    titles = {i.id: i.title.get(locale()) for i in state().instruments.all()}
    return sorted(title for key, title in titles.items() if key not in registered)


def _reassessments_due(assessments: list[Assessment]) -> list[tuple[Assessment, date]]:
    """Each approved assessment whose instrument sets an interval, with its due date."""
    due = []
    for assessment in assessments:
        if assessment.state == State.APPROVED.value:
            day = reassessment_due(instrument_of(assessment), assessment.decided_dt)
            if day is not None:
                due.append((assessment, day))
    return due


def _render_case(case: Case, view: services.CaseView) -> str:
    may_edit = assessment_policy.can_start_assessment(user(), case)
    registered = raters.registered_instruments(db(), user().id) if may_edit else frozenset()
    assessments = case_assessments(db(), case)
    staff = (
        [(str(u.id), u.display_name) for u in services.assignable_staff(db(), case)]
        if policy.can_assign_case(user(), case)
        else None
    )
    return render_template(
        "cases/show.html",
        view=view,
        assessments=assessments,
        caseworker=services.caseworker_name(db(), case),
        assign_form=AssignForm(staff, caseworker=str(case.assigned_to_id or ""))
        if staff is not None
        else None,
        reassessments_due=_reassessments_due(assessments),
        follow_ups=open_follow_ups(db(), case),
        may_mark_follow_up=assessment_policy.can_mark_follow_up(user(), case),
        today=local_today(),
        start_form=start_assessment_form(case, registered) if may_edit else None,
        registered=registered,
        untrained=_untrained(registered) if may_edit else [],
        bases=reassessment_bases(
            db(), vault(), user(), case, state().instruments.all(), assessments
        )
        if may_edit
        else [],
        reveal_form=RevealForm()
        if view.identity is None and policy.can_reveal_identity(user(), case)
        else None,
        close_form=CloseForm()
        if policy.can_close_case(user(), case) and case.status == CaseStatus.OPEN
        else None,
        protection_form=ProtectionForm() if policy.can_set_protection(user(), case) else None,
        is_emergency=not policy.same_unit(user(), case),
        retention=retention.retention_status(
            db(), vault(), user(), case, state().settings.retention_years, assessments
        ),
        hold_forms=(RetentionHoldForm(), RetentionReleaseForm())
        if policy.can_hold_retention(user(), case)
        else None,
        hold_reason_labels=HOLD_REASON_LABELS,
    )


@bp.get("/cases/<uuid:case_id>")
@require(Permission.CASE_READ)
def show_case(case_id: uuid.UUID) -> Response | str:
    case = load_case(case_id)
    if case.merged_into_id is not None and policy.can_read_case(user(), case):
        # A merged duplicate's work is in the kept case: old links lead there.
        flash(
            _("This case was merged into another case of the same child: that case is shown."),
            "warning",
        )
        return redirect(url_for("cases.show_case", case_id=case.merged_into_id))
    try:
        view = services.read_case(db(), vault(), user(), case)
    except AccessDenied:
        refuse(case)
    return _render_case(case, view)


@bp.post("/cases/<uuid:case_id>/reveal")
@require(Permission.CASE_READ)
def reveal_identity(case_id: uuid.UUID) -> Response | str:
    """Show a protected identity for this one page view, with a stated, logged reason."""
    case = load_case(case_id)
    form = RevealForm()
    if not form.validate_on_submit():
        flash(_("Choose the reason for viewing the protected identity."), "error")
        return redirect(url_for("cases.show_case", case_id=case.id))
    try:
        view = services.read_case(
            db(),
            vault(),
            user(),
            case,
            reveal_purpose=form.purpose.data,
            reveal_note=form.note.data or "",
        )
    except AccessDenied:
        refuse(case)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("cases.show_case", case_id=case.id))
    return _render_case(case, view)


@bp.post("/cases/<uuid:case_id>/close")
@require(Permission.CASE_CLOSE)
def close(case_id: uuid.UUID) -> Response:
    case = load_case(case_id)
    if not CloseForm().validate_on_submit():
        abort(400)
    try:
        services.close_case(db(), user(), case)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(_("The case is closed."), "success")
    return redirect(url_for("cases.show_case", case_id=case.id))


@bp.post("/cases/<uuid:case_id>/assign")
@require(Permission.CASE_ASSIGN)
def assign(case_id: uuid.UUID) -> Response:
    """A supervisor gives the case to a caseworker of the unit."""
    case = load_case(case_id)
    staff = services.assignable_staff(db(), case) if policy.can_assign_case(user(), case) else []
    form = AssignForm([(str(u.id), u.display_name) for u in staff])
    if not form.validate_on_submit():
        if not policy.can_assign_case(user(), case):
            services.deny(db(), user(), "case:case:assign", "case", case.id)
            abort(403)
        flash(_("Choose an active caseworker of the case's unit."), "error")
        return redirect(url_for("cases.show_case", case_id=case.id, _anchor="responsible"))
    try:
        assignee = services.assign_case(db(), user(), case, uuid.UUID(form.caseworker.data))
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(_("The case is assigned to %(name)s.", name=assignee.display_name), "success")
    return redirect(url_for("cases.show_case", case_id=case.id, _anchor="responsible"))


@bp.post("/cases/<uuid:case_id>/protection")
@require(Permission.CASE_PROTECT)
def protection(case_id: uuid.UUID) -> Response:
    case = load_case(case_id)
    form = ProtectionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_protection(db(), user(), case, form.protect.data == "1")
    except AccessDenied:
        abort(403)
    flash(_("The protection of the identity was changed."), "success")
    return redirect(url_for("cases.show_case", case_id=case.id))


@bp.route("/emergency", methods=["GET", "POST"])
@require(Permission.CASE_EMERGENCY)
def emergency_access() -> Response | str:
    """Nödåtkomst. The personnummer is sent by POST only, never in a URL."""
    form = EmergencyForm()
    if form.validate_on_submit():
        assert form.normalized_pnr is not None
        try:
            case = services.grant_emergency_access(
                db(), vault(), user(), form.normalized_pnr, form.purpose.data, form.note.data or ""
            )
        except AccessDenied:
            abort(403)
        except DomainError as exc:
            flash(_(exc.message), "error")
            return render_template("cases/emergency.html", form=form)
        if case is None:
            flash(_("No case in another unit has that personal identity number."), "error")
            return render_template("cases/emergency.html", form=form)
        flash(
            _(
                "Emergency access for %(hours)s hours. It is logged and will be followed up.",
                hours=services.EMERGENCY_HOURS,
            ),
            "warning",
        )
        return redirect(url_for("cases.show_case", case_id=case.id))
    return render_template("cases/emergency.html", form=form)


@bp.post("/case-access/<uuid:access_id>/review")
@require(Permission.CASE_PROTECT)
def review_access(access_id: uuid.UUID) -> Response:
    access = db().get(CaseAccess, access_id)
    if access is None:
        abort(404)
    if not AccessReviewForm().validate_on_submit():
        abort(400)
    try:
        services.review_emergency_access(db(), user(), access)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    return redirect(url_for("assessments.review_queue"))


@bp.route("/cases/search", methods=["GET", "POST"])
@require(Permission.CASE_SEARCH)
def search_cases() -> str:
    """Find a case of one's own unit by personnummer. The number comes by POST and is never
    echoed back after a search, so it stays out of URLs, logs and browser history."""
    form = SearchForm()
    found = None
    if form.validate_on_submit():
        assert form.normalized_pnr is not None
        try:
            found = services.find_by_personnummer(db(), vault(), user(), form.normalized_pnr)
        except AccessDenied:
            abort(403)
        form.personnummer.data = ""
    return render_template(
        "cases/search.html",
        form=form,
        found=found,
        case_closed_to_me=lambda case: policy.is_case_closed_to(user(), case),
    )


@bp.post("/cases/<uuid:case_id>/retention/hold")
@require(Permission.CASE_RETENTION_HOLD)
def hold_retention(case_id: uuid.UUID) -> Response:
    case = load_case(case_id)
    form = RetentionHoldForm()
    if not form.validate_on_submit():
        flash(_("Choose a reason for the hold."), "error")
        return redirect(url_for("cases.show_case", case_id=case.id, _anchor="gallring"))
    try:
        retention.place_hold(db(), vault(), user(), case, form.reason.data, form.note.data or "")
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(_("The case is kept: gallring is on hold."), "success")
    return redirect(url_for("cases.show_case", case_id=case.id, _anchor="gallring"))


@bp.post("/cases/<uuid:case_id>/retention/release")
@require(Permission.CASE_RETENTION_HOLD)
def release_retention(case_id: uuid.UUID) -> Response:
    case = load_case(case_id)
    if not RetentionReleaseForm().validate_on_submit():
        abort(400)
    try:
        retention.lift_hold(db(), user(), case)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(
            _("The hold is lifted: the case is deleted when its retention date has passed."),
            "success",
        )
    return redirect(url_for("cases.show_case", case_id=case.id, _anchor="gallring"))


@bp.post("/cases/transfer-requests")
@require(Permission.CASE_CREATE)
def request_transfer() -> Response:
    """Ask the unit that holds the child's case to move it here (from the "exists" page)."""
    form = TransferRequestForm()
    if not form.validate_on_submit():
        flash(_("Nothing was sent: enter the personal identity number again."), "error")
        return redirect(url_for("cases.new_case"))
    assert form.normalized_pnr is not None
    try:
        duplicates.request_transfer(db(), vault(), user(), form.normalized_pnr)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("cases.new_case"))
    flash(
        _("The request was sent. The case moves to your unit when that unit's supervisor accepts."),
        "success",
    )
    return redirect(url_for("cases.list_cases"))


@bp.get("/cases/duplicates")
@require(Permission.CASE_MERGE)
def list_duplicates() -> str:
    """The unit's cases of the same child, made before the one-case rule, to merge."""
    try:
        groups = duplicates.duplicate_groups(db(), user())
    except AccessDenied:
        abort(403)
    return render_template("cases/duplicates.html", groups=groups, form=MergeForm())


@bp.post("/cases/<uuid:case_id>/merge")
@require(Permission.CASE_MERGE)
def merge(case_id: uuid.UUID) -> Response:
    """Merge the posted duplicate into this case, which is kept."""
    kept = load_case(case_id)
    form = MergeForm()
    merged = db().get(Case, uuid.UUID(form.merged.data)) if form.validate_on_submit() else None
    if merged is None:
        flash(_("Choose the case to merge."), "error")
        return redirect(url_for("cases.list_duplicates"))
    try:
        duplicates.merge_cases(db(), vault(), user(), kept, merged)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return redirect(url_for("cases.list_duplicates"))
    flash(_("The cases were merged: every assessment is now in this case."), "success")
    return redirect(url_for("cases.show_case", case_id=kept.id))


@bp.get("/cases/transfers")
@require(Permission.CASE_TRANSFER_DECIDE)
def list_transfers() -> str:
    pending = duplicates.transfers_to_decide(db(), user())
    return render_template("cases/transfers.html", pending=pending, form=TransferDecisionForm())


@bp.post("/case-transfers/<uuid:transfer_id>/decide")
@require(Permission.CASE_TRANSFER_DECIDE)
def decide_transfer(transfer_id: uuid.UUID) -> Response:
    transfer = duplicates.load_transfer(db(), transfer_id)
    if transfer is None:
        abort(404)
    form = TransferDecisionForm()
    if not form.validate_on_submit():
        flash(_("Choose whether to accept or decline."), "error")
        return redirect(url_for("cases.list_transfers"))
    accept = form.decision.data == "accept"
    try:
        duplicates.decide_transfer(db(), user(), transfer, accept)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(
            _("The case was moved to the requesting unit.")
            if accept
            else _("The transfer request was declined."),
            "success",
        )
    return redirect(url_for("cases.list_transfers"))
