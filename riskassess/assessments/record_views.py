"""The case record around the ratings: the link to the BBIC investigation with its sources,
the views of the child and the guardians, and feedback of the approved result to them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from riskassess.assessments import feedback, policy, services
from riskassess.assessments.content import Content, section_progress
from riskassess.assessments.forms import (
    FeedbackForm,
    VersionedForm,
    investigation_form,
    voices_form,
)
from riskassess.assessments.models import Assessment
from riskassess.assessments.views import (
    _editable,
    _render_show,
    _save,
    _to_show,
    assessment_links,
    load_assessment,
)
from riskassess.core.localtime import local_today
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied, DomainError
from riskassess.instruments.definition import Instrument
from riskassess.web import db, require, user, vault

bp = Blueprint("record", __name__)


def _record_page(
    assessment_id: uuid.UUID,
    make_form: Callable[[Content, int, date], VersionedForm],
    template: str,
    following: Callable[[Assessment, Instrument], str],
) -> Response | str:
    """A page of the case record around the ratings: saved with "Save", or saved and left
    for `following` with "Save and continue"."""
    loaded = _editable(assessment_id)
    if isinstance(loaded, Response):
        return loaded
    assessment, case, instrument, view = loaded
    form = make_form(view.content, assessment.lock_version, local_today())
    error = None
    if form.validate_on_submit():
        error = _save(case, assessment, form.apply(view.content), form.based_on_version())
        if error is None:
            if "next" in request.form:
                return redirect(following(assessment, instrument))
            return redirect(request.path)
    elif form.is_submitted():
        error = _("Nothing was saved. Correct the marked fields.")
    return render_template(
        template,
        form=form,
        case=case,
        assessment=assessment,
        instrument=instrument,
        sections=section_progress(instrument, view.content),
        error=error,
        returned=view.returned_with,
    )


@bp.route("/assessments/<uuid:assessment_id>/investigation", methods=["GET", "POST"])
@require(Permission.ASSESSMENT_EDIT)
def investigation(assessment_id: uuid.UUID) -> Response | str:
    """The link to the BBIC investigation and the information sources."""
    return _record_page(
        assessment_id,
        investigation_form,
        "assessments/investigation.html",
        lambda assessment, instrument: assessment_links(assessment).rate(
            instrument.domains[0].code
        ),
    )


@bp.route("/assessments/<uuid:assessment_id>/voices", methods=["GET", "POST"])
@require(Permission.ASSESSMENT_EDIT)
def voices(assessment_id: uuid.UUID) -> Response | str:
    """The child's and the guardians' views."""
    return _record_page(
        assessment_id,
        voices_form,
        "assessments/voices.html",
        lambda assessment, _instrument: assessment_links(assessment).judgement(),
    )


@bp.post("/assessments/<uuid:assessment_id>/feedback")
@require(Permission.ASSESSMENT_EDIT)
def record_feedback(assessment_id: uuid.UUID) -> Response | str:
    """Record that the approved result was fed back to the child or the guardians."""
    assessment, case, instrument = load_assessment(assessment_id)
    if not policy.can_edit_assessment(user(), case):
        services.deny_assessment(db(), user(), feedback.ACTION, assessment)
        abort(403)
    form = FeedbackForm(local_today())
    if not form.validate_on_submit():
        return _render_show(assessment, case, instrument, feedback_form=form)
    entry = feedback.FeedbackEntry(
        tuple(form.to.data),
        form.on.data,
        form.how.data,
        form.agreement.data,
        (form.disagreement.data or "").strip(),
    )
    try:
        feedback.record_feedback(db(), vault(), user(), case, assessment, entry)
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
        return _to_show(assessment)
    flash(_("The feedback is recorded."), "success")
    return _to_show(assessment)
