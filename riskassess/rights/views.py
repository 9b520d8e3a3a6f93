"""Pages for data subjects' rights: the register extract of a case (printable page and JSON
file, both by POST so that nothing about the child is in a URL or a browser's history), and the
information text for children and guardians (public to read, edited by administrators)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from riskassess.cases.forms import HOLD_REASON_LABELS
from riskassess.cases.models import Case
from riskassess.cases.views import load_case
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied, DomainError
from riskassess.rights import extract, information, policy
from riskassess.rights.forms import InformationTextForm, RegisterExtractForm
from riskassess.web import db, instrument_of, locale, public, require, state, user, vault

bp = Blueprint("rights", __name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.app_context_processor
def _rights_helpers() -> dict[str, Any]:
    def may_make_register_extract(case: Case) -> bool:
        return bool(current_user.is_authenticated) and policy.can_make_register_extract(
            user(), case
        )

    return {"may_make_register_extract": may_make_register_extract}


def _make_extract(case_id: uuid.UUID, output: str) -> extract.RegisterExtract:
    case = load_case(case_id)
    if not RegisterExtractForm().validate_on_submit():
        abort(400)
    try:
        return extract.make_register_extract(
            db(),
            vault(),
            user(),
            case,
            output=output,
            years=state().settings.retention_years,
            instrument_of=instrument_of,
        )
    except AccessDenied:
        abort(403)


@bp.post("/cases/<uuid:case_id>/register-extract")
@require(Permission.CASE_REGISTER_EXTRACT)
def register_extract(case_id: uuid.UUID) -> Response:
    """The printable register extract."""
    made = _make_extract(case_id, "html")
    page = render_template(
        "rights/extract.html", extract=made, hold_reason_labels=HOLD_REASON_LABELS
    )
    return current_app.response_class(page, mimetype="text/html", headers=NO_STORE)


@bp.post("/cases/<uuid:case_id>/register-extract.json")
@require(Permission.CASE_REGISTER_EXTRACT)
def register_extract_json(case_id: uuid.UUID) -> Response:
    """The same extract as a JSON file. The file name holds the case number and the day only,
    never the child's name or number."""
    made = _make_extract(case_id, "json")
    body = json.dumps(extract.extract_json(made, locale()), ensure_ascii=False, indent=2)
    name = f"registerutdrag-{made.case.reference}-{made.made_dt:%Y%m%d}.json"
    return current_app.response_class(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
    )


@bp.get("/information")
@public
def show_information() -> str:
    """The information text for children and guardians. Public: it holds no personal data,
    and families must be able to read it without an account (a letter can link to it)."""
    text = information.current_text(db())
    return render_template(
        "rights/information.html",
        text=text,
        paragraphs=information.paragraphs(text.body(locale())),
    )


@bp.route("/information/edit", methods=["GET", "POST"])
@require(Permission.INFORMATION_TEXT_EDIT)
def edit_information() -> Response | str:
    current = information.current_text(db())
    form = InformationTextForm()
    if not form.is_submitted():
        form.body_sv.data, form.body_en.data = current.body_sv, current.body_en
        form.based_on.data = "" if current.version is None else str(current.version)
    elif form.validate():
        based_on = int(form.based_on.data) if form.based_on.data else None
        try:
            saved = information.save_text(
                db(), user(), form.body_sv.data or "", form.body_en.data or "", based_on
            )
        except AccessDenied:
            abort(403)
        except DomainError as exc:
            flash(_(exc.message), "error")
        else:
            flash(_("Version %(version)s of the text is saved.", version=saved.version), "success")
            return redirect(url_for("rights.edit_information"))
    else:
        flash(_("Nothing was saved. Correct the marked fields."), "error")
    return render_template(
        "rights/information_edit.html",
        form=form,
        current=current,
        versions=information.versions(db()),
    )


@bp.get("/information/versions/<int:version>")
@require(Permission.INFORMATION_TEXT_EDIT)
def information_version(version: int) -> str:
    text = information.text_version(db(), version)
    if text is None:
        abort(404)
    return render_template(
        "rights/information_version.html",
        text=text,
        paragraphs_sv=information.paragraphs(text.body_sv),
        paragraphs_en=information.paragraphs(text.body_en),
    )
