"""The list of what is due soon or overdue, and marking a plan's follow-up as done."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from riskassess.assessments import followup
from riskassess.assessments.forms import FollowUpDoneForm
from riskassess.assessments.models import FollowUp
from riskassess.cases.views import load_case
from riskassess.core.localtime import local_today
from riskassess.core.permissions import Permission, Role
from riskassess.errors import AccessDenied, DomainError
from riskassess.web import db, instrument_of, require, state, user, vault

bp = Blueprint("followups", __name__)


@bp.get("/follow-ups")
@require(Permission.CASE_LIST)
def due_list() -> str:
    """Overdue and due within two weeks: a caseworker's own cases by default, the whole unit
    for a supervisor. The scope is in the query string; it says nothing about any child."""
    default = "unit" if user().role == Role.SUPERVISOR else "mine"
    mine = request.args.get("scope", default) == "mine"
    today = local_today()
    items = followup.due_list(
        db(),
        vault(),
        user(),
        mine=mine,
        today=today,
        instruments=state().instruments.all(),
        instrument_of=instrument_of,
    )
    return render_template(
        "assessments/due.html",
        items=items,
        mine=mine,
        today=today,
        soon_days=followup.DUE_SOON_DAYS,
    )


@bp.post("/follow-ups/<uuid:follow_up_id>/done")
@require(Permission.FOLLOW_UP_DONE)
def mark_done(follow_up_id: uuid.UUID) -> Response:
    follow_up = db().get(FollowUp, follow_up_id)
    if follow_up is None:
        abort(404)
    case = load_case(follow_up.case_id)
    form = FollowUpDoneForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        followup.mark_done(db(), user(), case, follow_up)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(_("The follow-up is marked as done."), "success")
    if form.back.data == "case":
        return redirect(url_for("cases.show_case", case_id=case.id, _anchor="due-title"))
    return redirect(url_for("followups.due_list"))
