"""Follow-up statistics pages: the tables on screen, and the same as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from riskassess.assessments.followup import local_today
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied
from riskassess.reports import services
from riskassess.reports.forms import ReportExportForm, ReportFilterForm
from riskassess.reports.suppression import Cell, SuppressedTable
from riskassess.web import db, locale, require, state, user, vault

SEX_LABELS = {"female": _l("Girls"), "male": _l("Boys")}
CHILD_VIEW_LABELS = {
    "heard": _l("Recorded"),
    "not_heard": _l("Could not be obtained"),
    "not_recorded": _l("Not recorded"),
}

bp = Blueprint("reports", __name__)


def _asked() -> MultiDict[str, str]:
    """The filter in the query string; without one, the last twelve months and the first
    instrument."""
    if request.args:
        return request.args
    instruments = state().instruments.all()
    today = local_today()
    first = f"{instruments[0].id}@{instruments[0].version}" if instruments else ""
    start = today - timedelta(days=365)
    return MultiDict(
        {"date_from": start.isoformat(), "date_to": today.isoformat(), "instrument": first}
    )


def _report(form: ReportFilterForm | ReportExportForm, purpose: str) -> services.Report | None:
    instrument = form.chosen_instrument()
    if not form.validate() or instrument is None:
        return None
    period = services.Period(form.date_from.data, form.date_to.data)
    try:
        return services.make_report(db(), vault(), user(), instrument, period, purpose=purpose)
    except AccessDenied:
        abort(403)


@bp.get("/reports")
@require(Permission.REPORT_READ)
def statistics() -> str:
    instruments = state().instruments.all()
    form = ReportFilterForm(instruments, locale(), formdata=_asked())
    report = _report(form, "read")
    export_form = ReportExportForm(instruments, locale(), formdata=None, data=form.data)
    export_form.instrument.data = form.instrument.data
    return render_template(
        "reports/statistics.html",
        form=form,
        report=report,
        export_form=export_form,
        child_view_labels=[str(CHILD_VIEW_LABELS[code]) for code in services.CHILD_VIEW],
    )


def _text(cell: Cell) -> str:
    if cell.value is not None:
        return str(cell.value)
    return "<5" if cell.is_small else "x"


def _rows(
    name: str, table: SuppressedTable, rows: list[str], columns: list[str]
) -> list[list[str]]:
    out = []
    for label, cells, total in zip(rows, table.cells, table.row_totals, strict=True):
        out += [[name, label, column, _text(c)] for column, c in zip(columns, cells, strict=True)]
        out.append([name, label, _("Total"), _text(total)])
    out += [
        [name, _("Total"), column, _text(c)]
        for column, c in zip(columns, table.column_totals, strict=True)
    ]
    out.append([name, _("Total"), _("Total"), _text(table.total)])
    return out


@bp.post("/reports.csv")
@require(Permission.REPORT_EXPORT)
def export() -> Response:
    """The report's tables as CSV, one count per line; hidden counts as in the page."""
    form = ReportExportForm(state().instruments.all(), locale())
    report = _report(form, "export")
    if report is None:
        abort(400)
    from riskassess.app import KIND_LABELS  # the labels every page uses

    lang = locale()
    levels = [level.label.get(lang) for level in report.instrument.judgement_levels]
    units = [unit.name for unit in report.units]
    sexes = [str(SEX_LABELS[sex]) for sex in services.SEXES]
    kinds = [str(KIND_LABELS[kind]) for kind in services.KINDS]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Table"), _("Row"), _("Column"), _("Count")])
    writer.writerows(_rows(_("Overall judgement by unit"), report.by_unit, units, levels))
    writer.writerows(_rows(_("Overall judgement by sex"), report.by_sex, sexes, levels))
    writer.writerows(_rows(_("Kind of assessment by unit"), report.kinds_by_unit, units, kinds))
    views = [str(CHILD_VIEW_LABELS[code]) for code in services.CHILD_VIEW]
    writer.writerows(_rows(_("The child's view by unit"), report.child_view_by_unit, units, views))
    name = f"riskassess-uppfoljning-{report.period.first}-{report.period.last}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
