"""The demo as `make demo` starts it: created on first start, kept across restarts.

A restart must not log out a classroom: the session signing key lives in the demo's instance
folder, readable by its owner only, like the demo keyring.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.accounts.raters import registered_instruments
from riskassess.app import create_app
from riskassess.assessments.models import Assessment
from riskassess.cli_support import with_session
from riskassess.config import DEMO_SECRET_FILE, ConfigError, Settings, load_settings
from riskassess.training.cli import prepare_demo
from riskassess.training.seed import DEMO_PASSWORD
from tests.conftest import csrf


def _demo_settings(instance: Path) -> Settings:
    settings = load_settings({"RISKASSESS_INSTANCE_PATH": str(instance)}, mode="demo")
    return settings.with_overrides(password_time_cost=1, password_memory_kib=64)


def test_a_restarted_demo_keeps_its_users_logged_in(tmp_path: Path) -> None:
    first = create_app(prepare_demo(_demo_settings(tmp_path)))
    client = first.test_client()
    response = client.post(
        "/login",
        data={
            "username": "handlaggare.a",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf(client, "/login"),
        },
    )
    assert response.status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None

    secret_file = tmp_path / DEMO_SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    written = secret_file.read_text()

    # The restart: settings read anew, the same folder, a new process's app.
    second = create_app(prepare_demo(_demo_settings(tmp_path)))
    assert secret_file.read_text() == written
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    returning = second.test_client()
    returning.set_cookie("session", cookie.value)
    response = returning.get("/cases")
    assert response.status_code == 200, response.headers.get("Location")
    for app in (first, second):
        app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def test_a_damaged_demo_secret_is_reported_not_replaced(tmp_path: Path) -> None:
    (tmp_path / DEMO_SECRET_FILE).write_text("short\n")
    # The CLI turns this ConfigError into one line for the operator.
    with pytest.raises(ConfigError, match="delete the file"):
        prepare_demo(_demo_settings(tmp_path))
    assert (tmp_path / DEMO_SECRET_FILE).read_text() == "short\n"


def test_the_demo_shows_a_trained_and_an_untrained_rater(tmp_path: Path) -> None:
    """Hanna (handlaggare.a) is registered for SAVRY only: her SAVRY assessments carry no note,
    and starting the EARL-20B-style one for Leo warns her. Bo is registered for nothing."""
    settings = prepare_demo(_demo_settings(tmp_path))

    def look(session: Session) -> tuple[dict[str, frozenset[str]], set[bool | None]]:
        people = {u.username: u for u in session.scalars(select(User))}
        registered = {
            name: registered_instruments(session, people[name].id)
            for name in ("handlaggare.a", "handlaggare.b", "arbetsledare.a")
        }
        notes = set(session.scalars(select(Assessment.is_rater_registered)))
        return registered, notes

    registered, notes = with_session(settings, look)
    assert registered == {
        "handlaggare.a": frozenset({"savry-style"}),
        "handlaggare.b": frozenset(),
        "arbetsledare.a": frozenset({"savry-style", "earl-20b-style"}),
    }
    assert notes == {True}

    app = create_app(settings)
    client = app.test_client()
    form = {"username": "handlaggare.a", "password": DEMO_PASSWORD}
    client.post("/login", data=form | {"csrf_token": csrf(client, "/login")})
    listing = client.get("/cases").get_data(as_text=True)
    leo = re.search(r'href="(/cases/[0-9a-f-]{36})"[^>]*>[^<]*</a>\s*</td>\s*<td>Leo', listing)
    assert leo is not None, listing[-3000:]
    page = client.get(leo[1]).get_data(as_text=True)
    assert "Du är inte registrerad som utbildad i: EARL-20B" in page
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()
