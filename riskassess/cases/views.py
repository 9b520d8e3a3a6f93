from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from riskassess.assessments import policy as assessment_policy
from riskassess.assessments.forms import StartAssessmentForm
from riskassess.assessments.services import case_assessments, is_eligible
from riskassess.cases import services
from riskassess.cases.forms import CaseForm
from riskassess.cases.models import Case
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied
from riskassess.web import db, locale, require, state, user, vault

bp = Blueprint("cases", __name__)


def load_case(case_id: uuid.UUID) -> Case:
    case = db().get(Case, case_id)
    if case is None:
        abort(404)
    return case


def start_assessment_form(identity: services.Identity) -> StartAssessmentForm:
    """The instrument choice for this child: those meant for the child's age and sex first."""
    today = date.today()
    instruments = state().instruments.all()
    eligible = [i for i in instruments if is_eligible(i, identity, today)]
    others = [i for i in instruments if not is_eligible(i, identity, today)]
    return StartAssessmentForm(eligible, others, locale())


@bp.get("/cases")
@require(Permission.CASE_LIST)
def list_cases() -> str:
    views = services.list_unit_cases(db(), vault(), user())
    return render_template("cases/list.html", views=views)


@bp.route("/cases/new", methods=["GET", "POST"])
@require(Permission.CASE_CREATE)
def new_case() -> Response | str:
    form = CaseForm()
    if form.validate_on_submit():
        assert form.normalized_pnr is not None and form.birth_date.data is not None
        identity = services.Identity(
            name=(form.name.data or "").strip(),
            personnummer=form.normalized_pnr,
            birth_date=form.birth_date.data,
            sex=form.sex.data or "",
        )
        try:
            case = services.create_case(db(), vault(), user(), identity)
        except AccessDenied:
            abort(403)
        return redirect(url_for("cases.show_case", case_id=case.id))
    return render_template("cases/new.html", form=form)


@bp.get("/cases/<uuid:case_id>")
@require(Permission.CASE_READ)
def show_case(case_id: uuid.UUID) -> str:
    case = load_case(case_id)
    try:
        view = services.read_case(db(), vault(), user(), case)
    except AccessDenied:
        abort(403)
    start_form = None
    if assessment_policy.can_start_assessment(user(), case):
        start_form = start_assessment_form(view.identity)
    return render_template(
        "cases/show.html",
        view=view,
        assessments=case_assessments(db(), case),
        start_form=start_form,
    )
