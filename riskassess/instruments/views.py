from __future__ import annotations

from flask import Blueprint, abort, render_template

from riskassess.core.permissions import Permission
from riskassess.web import require, state

bp = Blueprint("instruments", __name__)


@bp.get("/instruments")
@require(Permission.INSTRUMENT_READ)
def list_instruments() -> str:
    return render_template("instruments/list.html", instruments=state().instruments.all())


@bp.get("/instruments/<instrument_id>/<version>")
@require(Permission.INSTRUMENT_READ)
def show_instrument(instrument_id: str, version: str) -> str:
    instrument = state().instruments.get(instrument_id, version)
    if instrument is None:
        abort(404)
    return render_template("instruments/show.html", instrument=instrument)
