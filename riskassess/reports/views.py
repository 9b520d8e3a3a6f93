"""Follow-up statistics pages: the tables and charts on screen, and the same tables as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from riskassess.accounts.models import Unit
from riskassess.core.localtime import local_today
from riskassess.core.permissions import Permission
from riskassess.errors import AccessDenied
from riskassess.i18n import lazy_gettext as _l
from riskassess.instruments.definition import Instrument
from riskassess.reports import measures, services
from riskassess.reports.forms import ReportExportForm, ReportFilterForm
from riskassess.reports.measures import Measure, Report, Row, Table
from riskassess.reports.suppression import Cell
from riskassess.reports.usage import most_counted_instrument
from riskassess.web import db, locale, require, state, user, vault

bp = Blueprint("reports", __name__)

ROW_LABELS = {
    measures.OTHER: _l("Other units (fewer than 5 each)"),
    "female": _l("Girls"),
    "male": _l("Boys"),
}
COLUMN_LABELS = {
    "initial": _l("First assessment"),
    "reassessment": _l("Reassessment"),
    "heard": _l("Recorded"),
    "not_heard": _l("Could not be obtained"),
    "not_recorded": _l("Not recorded"),
    "needed": _l("Needed a reason"),
    "not_needed": _l("Needed none"),
    measures.NOT_REASSESSMENT: _l("Not a reassessment"),
    "on_time": _l("By the due date"),
    "late": _l("After the due date"),
    "no_due_date": _l("No due date"),
    "no_previous": _l("Unknown"),
    "top": _l("Rated at the top"),
    "not_top": _l("Not at the top"),
}
# The measures' tables, in page order: (code, caption); the column labels come from
# COLUMN_LABELS, the judgement levels from the instrument, day bands as they are.
MEASURES = (
    ("kinds", _l("Assessments and reassessments")),
    ("judgement", _l("Overall judgement")),
    ("consistency", _l("Judgements that needed a reason (consistency rules)")),
    ("child_view", _l("The child's own view")),
    ("approval_days", _l("Days from start to approval")),
    ("reassessed", _l("Reassessments by their due date")),
    ("gap_days", _l("Days between an approval and the reassessment after it")),
)
BY = {"unit": _l("by unit"), "sex": _l("by sex"), "age": _l("by age band")}
ROW_TITLES = {"unit": _l("Unit"), "sex": _l("Sex"), "age": _l("Age")}


def row_label(row: Row) -> str:
    if row.label:
        return row.label
    if row.code in ROW_LABELS:
        return str(ROW_LABELS[row.code])
    return str(_("%(age)s years", age=row.code.replace("-", "–")))


def column_labeller(instrument: Instrument) -> Callable[[str], str]:
    lang = locale()
    levels = {level.code: level.label.get(lang) for level in instrument.judgement_levels}

    def label(code: str) -> str:
        if code in levels:
            return levels[code]
        if code in COLUMN_LABELS:
            return str(COLUMN_LABELS[code])
        if code.endswith("-"):  # an open-ended band: "61-"
            return str(_("%(days)s days or more", days=code[:-1]))
        return str(_("%(days)s days", days=code.replace("-", "–")))

    return label


def item_label(instrument: Instrument, code: str) -> str:
    item = instrument.item(code)
    return f"{code} {item.title.get(locale())}" if item else code


def _asked(units: list[Unit]) -> MultiDict[str, str]:
    """The filter in the query string; without one, the last twelve months and the
    instrument most used in the user's units then (the first one when none is)."""
    if request.args:
        return request.args
    instruments = state().instruments.all()
    today = local_today()
    start = today - timedelta(days=365)
    used = most_counted_instrument(
        db(), [u.id for u in units], *measures.Period(start, today).bounds()
    )
    keys = [f"{i.id}@{i.version}" for i in instruments]
    chosen = f"{used[0]}@{used[1]}" if used else ""
    return MultiDict(
        {
            "date_from": start.isoformat(),
            "date_to": today.isoformat(),
            "instrument": chosen if chosen in keys else next(iter(keys), ""),
        }
    )


def _report(form: ReportFilterForm | ReportExportForm, purpose: str) -> Report | None:
    instrument = form.chosen_instrument()
    if not form.validate() or instrument is None:
        return None
    period = measures.Period(form.date_from.data, form.date_to.data)
    try:
        return services.make_report(
            db(),
            vault(),
            user(),
            instrument,
            period,
            unit_ids=form.chosen_units(),
            purpose=purpose,
        )
    except AccessDenied:
        abort(403)


@bp.get("/reports")
@require(Permission.REPORT_READ)
def statistics() -> str:
    instruments = state().instruments.all()
    units = services.visible_units(db(), user())
    form = ReportFilterForm(instruments, locale(), units, formdata=_asked(units))
    report = _report(form, "read")
    export_form = ReportExportForm(instruments, locale(), units, formdata=None, data=form.data)
    labels = column_labeller(report.instrument) if report else str
    return render_template(
        "reports/statistics.html",
        form=form,
        report=report,
        export_form=export_form,
        is_manager=len(units) > 1,
        measures=[(code, caption) for code, caption in MEASURES],
        by=BY,
        row_titles=ROW_TITLES,
        row_label=row_label,
        column_label=labels,
        item_label=(lambda code: item_label(report.instrument, code)) if report else str,
    )


def text(cell: Cell) -> str:
    if cell.value is not None:
        return str(cell.value)
    return "<5" if cell.is_small else "x"


def _as_text(value: str) -> str:
    """A unit's name (typed by an administrator) that a spreadsheet shows as text and never
    runs as a formula."""
    return "'" + value if value.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def _csv_rows(name: str, table: Table, column_label: Callable[[str], str]) -> list[list[str]]:
    """One line per count: table, row, column, count; hidden counts as on the page."""
    counts = table.counts
    columns = [column_label(c) for c in table.columns]
    out = []
    for row, cells, total in zip(table.rows, counts.cells, counts.row_totals, strict=True):
        label = _as_text(row_label(row))
        out += [[name, label, column, text(c)] for column, c in zip(columns, cells, strict=True)]
        out.append([name, label, _("Total"), text(total)])
    out += [
        [name, _("Total"), column, text(c)]
        for column, c in zip(columns, counts.column_totals, strict=True)
    ]
    out.append([name, _("Total"), _("Total"), text(counts.total)])
    return out


def _measure_rows(
    caption: str, measure: Measure, column_label: Callable[[str], str]
) -> list[list[str]]:
    return [
        line
        for by, table in measure.tables
        for line in _csv_rows(f"{caption} {BY[by]}", table, column_label)
    ]


@bp.post("/reports.csv")
@require(Permission.REPORT_EXPORT)
def export() -> Response:
    """The report's tables as CSV, one count per line; hidden counts as on the page."""
    units = services.visible_units(db(), user())
    form = ReportExportForm(state().instruments.all(), locale(), units)
    report = _report(form, "export")
    if report is None:
        abort(400)
    label = column_labeller(report.instrument)
    # For Swedish spreadsheets, like the audit log's export: semicolons (the comma is the
    # decimal sign there) and UTF-8 with a byte-order mark, so "å", "ä" and "ö" survive.
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([_("Table"), _("Row"), _("Column"), _("Count")])
    for code, caption in MEASURES:
        measure = getattr(report, code)
        if measure is not None:
            writer.writerows(_measure_rows(str(caption), measure, label))
    for band, table in report.profiles:
        name = _("Overall judgement, %(band)s risk factors at the top", band=band.replace("-", "–"))
        writer.writerows(_csv_rows(name, table, label))
    for title, items in (
        (_("Risk factor rated at the top"), report.top_risk),
        (_("Protective factor present"), report.protective),
    ):
        for entry in items:
            name = f"{title}: {item_label(report.instrument, entry.item)}"
            writer.writerows(_measure_rows(name, entry.measure, label))
    name = f"riskassess-uppfoljning-{report.period.first}-{report.period.last}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
