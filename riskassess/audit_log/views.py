"""Pages for reading the audit log. Each view: load, authorize, validate, call one service,
render. Filters travel in the query string (ids, dates, pseudonymous case numbers only)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from riskassess.accounts.services import list_users
from riskassess.audit_log import policy, services
from riskassess.audit_log.forms import (
    CheckForm,
    LogExportForm,
    LogFilterForm,
    PeriodForm,
    SampleForm,
    action_label,
)
from riskassess.audit_log.models import AuditSample, AuditSampleItem
from riskassess.cases.models import Case
from riskassess.cases.views import load_case
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied, DomainError
from riskassess.i18n import lazy_gettext as _l
from riskassess.web import db, require, user, vault

bp = Blueprint("audit_log", __name__)

UNUSUAL_DEFAULT_DAYS = 30
_MAX_PAGE = 100_000

FLAG_LABELS = {
    services.Flag.REFUSED: _l("Refused or failed"),
    services.Flag.OTHER_UNIT: _l("Case of another unit"),
    services.Flag.BURST: _l("Many cases in a short time"),
    services.Flag.EMERGENCY: _l("Emergency access"),
}
OUTCOME_LABELS = {
    "success": _l("Done"),
    "denied": _l("Denied"),
    "failure": _l("Failed"),
}


@bp.app_context_processor
def _audit_helpers() -> dict[str, Any]:
    def may_read_access_log(case: Case) -> bool:
        return bool(current_user.is_authenticated) and policy.can_read_case_access_log(user(), case)

    return {
        "may_read_access_log": may_read_access_log,
        "action_label": action_label,
        "flag_label": lambda flag: FLAG_LABELS.get(flag, flag),
        "outcome_label": lambda code: OUTCOME_LABELS.get(code, code),
        # Periods end at an exclusive midnight; people read the last day they include.
        "period_last_day": lambda end: end - timedelta(microseconds=1),
    }


def _day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the interface's time zone, in UTC."""
    zone = get_timezone()
    naive = datetime.combine(day, time.min)
    localize = getattr(zone, "localize", None)  # pytz zones need localize()
    aware = localize(naive) if localize is not None else naive.replace(tzinfo=zone)
    return aware.astimezone(UTC)


def _today() -> date:
    return datetime.now(get_timezone()).date()


def _filter_form(form: Any) -> Any:
    form.set_choices(list_users(db()))
    return form


def _log_filter(form: Any) -> services.LogFilter | None:
    """The service's filter from a validated form; None (with a form error) for an unknown
    case number."""
    case = None
    if form.case.data:
        case = services.find_case(db(), form.case.data)
        if case is None:
            form.case.errors = [_("No case has this case number.")]
            return None
    return services.LogFilter(
        user_id=uuid.UUID(form.user.data) if form.user.data else None,
        case=case,
        action=form.action.data or None,
        start=None if form.date_from.data is None else _day_start(form.date_from.data),
        end=None
        if form.date_to.data is None
        else _day_start(form.date_to.data + timedelta(days=1)),
    )


def _query(form: Any) -> dict[str, str]:
    """The filter as query arguments, for page links and the export form."""
    values = {
        "user": form.user.data,
        "case": form.case.data,
        "action": form.action.data,
        "date_from": None if form.date_from.data is None else form.date_from.data.isoformat(),
        "date_to": None if form.date_to.data is None else form.date_to.data.isoformat(),
    }
    return {k: v for k, v in values.items() if v}


def _page_arg() -> int:
    """The page of a pager link; anything odd means the first page."""
    page = request.args.get("page", 1, type=int) or 1
    return max(1, min(page, _MAX_PAGE))


@bp.get("/audit")
@require(Permission.AUDIT_LOG_READ)
def search() -> str:
    form = _filter_form(LogFilterForm(formdata=request.args or None))
    result = None
    if form.validate():
        log_filter = _log_filter(form)
        if log_filter is not None:
            result = services.search_log(db(), user(), log_filter, _page_arg())
    return render_template("audit_log/search.html", form=form, result=result, query=_query(form))


@bp.post("/audit/export")
@require(Permission.AUDIT_LOG_EXPORT)
def export() -> Response | tuple[str, int]:
    form = _filter_form(LogExportForm())
    if form.validate_on_submit():
        log_filter = _log_filter(form)
        if log_filter is not None:
            try:
                rows = services.export_log(db(), user(), log_filter)
            except services.TooManyEntries as exc:
                flash(_(exc.message, limit=exc.limit), "error")
            else:
                header = [
                    _("Entry"),
                    _("Time (UTC)"),
                    _("Username"),
                    _("Name"),
                    _("Role"),
                    _("Unit"),
                    _("Event code"),
                    _("Event"),
                    _("Object type"),
                    _("Object id"),
                    _("Case number"),
                    _("Outcome"),
                    _("Highlighted"),
                    _("Entry hash"),
                ]
                body = services.log_csv(rows, header, lambda tag: str(action_label(tag)))
                name = f"logg-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
                response: Response = current_app.response_class(
                    body,
                    mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'},
                )
                return response
    page = render_template("audit_log/search.html", form=form, result=None, query=_query(form))
    return page, 400


@bp.get("/audit/unusual")
@require(Permission.AUDIT_LOG_READ)
def unusual() -> str:
    form = PeriodForm(formdata=request.args or None)
    report = None
    if form.validate():
        last = form.date_to.data or _today()
        first = form.date_from.data or last - timedelta(days=UNUSUAL_DEFAULT_DAYS - 1)
        form.date_from.data, form.date_to.data = first, last
        report = services.unusual_access(
            db(), user(), _day_start(first), _day_start(last + timedelta(days=1))
        )
    return render_template(
        "audit_log/unusual.html",
        form=form,
        report=report,
        burst_cases=services.BURST_CASES,
        burst_minutes=int(services.BURST_WINDOW.total_seconds() // 60),
    )


@bp.get("/cases/<uuid:case_id>/access-log")
@require(Permission.CASE_ACCESS_LOG_READ)
def case_log(case_id: uuid.UUID) -> str:
    case = load_case(case_id)
    try:
        log = services.case_access_log(db(), user(), case, _page_arg())
    except AccessDenied:
        abort(403)
    return render_template("audit_log/case_log.html", log=log)


def _sample_form() -> SampleForm:
    form = SampleForm()
    if not form.is_submitted():
        # Default: last calendar month, the usual rhythm of a loggkontroll.
        last = _today().replace(day=1) - timedelta(days=1)
        form.date_from.data, form.date_to.data = last.replace(day=1), last
    return form


@bp.get("/audit/samples")
@require(Permission.AUDIT_SAMPLE_REVIEW)
def samples() -> str:
    return render_template(
        "audit_log/samples.html", samples=services.list_samples(db()), form=_sample_form()
    )


@bp.post("/audit/samples")
@require(Permission.AUDIT_SAMPLE_REVIEW)
def draw_sample() -> Response | str:
    form = _sample_form()
    error = None
    if form.validate_on_submit():
        assert form.date_from.data is not None and form.date_to.data is not None
        try:
            sample = services.draw_sample(
                db(),
                vault(),
                user(),
                _day_start(form.date_from.data),
                _day_start(form.date_to.data + timedelta(days=1)),
                form.size.data or 0,
            )
        except AccessDenied:
            abort(403)
        except DomainError as exc:
            error = _(exc.message)
        else:
            flash(_("The sample is drawn. Record a finding for each entry."), "success")
            return redirect(url_for("audit_log.show_sample", sample_id=sample.id))
    else:
        error = _("Nothing was drawn. Correct the marked fields.")
    return render_template(
        "audit_log/samples.html", samples=services.list_samples(db()), form=form, error=error
    )


def _load_sample(sample_id: uuid.UUID) -> AuditSample:
    sample = db().get(AuditSample, sample_id)
    if sample is None:
        abort(404)
    return sample


def _check_prefix(item: AuditSampleItem) -> str:
    return f"item{item.position}"


def _render_sample(sample: AuditSample, failed: tuple[uuid.UUID, CheckForm] | None = None) -> str:
    try:
        view = services.read_sample(db(), vault(), user(), sample)
    except AccessDenied:
        abort(403)
    forms = {
        row.item.id: CheckForm(formdata=None, prefix=_check_prefix(row.item))
        for row in view.items
        if row.item.check_outcome is None
    }
    if failed is not None and failed[0] in forms:
        forms[failed[0]] = failed[1]  # keeps what was typed, with its errors
    return render_template("audit_log/sample.html", view=view, forms=forms)


@bp.get("/audit/samples/<uuid:sample_id>")
@require(Permission.AUDIT_SAMPLE_REVIEW)
def show_sample(sample_id: uuid.UUID) -> str:
    return _render_sample(_load_sample(sample_id))


@bp.post("/audit/samples/<uuid:sample_id>/items/<uuid:item_id>")
@require(Permission.AUDIT_SAMPLE_REVIEW)
def record_check(sample_id: uuid.UUID, item_id: uuid.UUID) -> Response | str:
    sample = _load_sample(sample_id)
    item = db().get(AuditSampleItem, item_id)
    if item is None or item.sample_id != sample.id:
        abort(404)
    form = CheckForm(prefix=_check_prefix(item))
    if not form.validate_on_submit():
        flash(_("Nothing was recorded. Correct the marked fields."), "error")
        return _render_sample(sample, failed=(item.id, form))
    try:
        services.record_check(
            db(), vault(), user(), sample, item, form.outcome.data or "", form.comment.data or ""
        )
    except AccessDenied:
        abort(403)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(_("The finding is recorded."), "success")
    target = url_for("audit_log.show_sample", sample_id=sample.id)
    return redirect(f"{target}#{_check_prefix(item)}")
