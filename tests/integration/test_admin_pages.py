"""The administrator's account pages: role and unit, access, end date and one-time reset codes,
each audited with before and after; never one's own account."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts.models import Unit, User
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import PASSWORD, World, csrf


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    form = {"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")}
    assert client.post("/login", data=form).status_code == 302
    return client


def _post(client: FlaskClient, path: str, **fields: str) -> tuple[int, str]:
    response = client.post(path, data={"csrf_token": csrf(client, "/instruments"), **fields})
    if response.status_code == 302:
        return 302, client.get(response.headers["Location"]).get_data(as_text=True)
    return response.status_code, response.get_data(as_text=True)


def _user(db: Session, username: str) -> User:
    db.rollback()
    found = db.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def test_an_administrator_changes_an_account_in_the_browser(
    app: Flask, world: World, db: Session
) -> None:
    north, south = world.unit("nord"), world.unit("syd")
    target = world.user("cw.north", "caseworker", north)
    admin_user = world.user("admin", "admin", None)
    worker = _client(app, "cw.north")
    admin = _client(app, "admin")
    base = f"/admin/users/{target.id}"
    assert "cw.north" in admin.get("/admin/users").get_data(as_text=True)
    assert admin.get(base).status_code == 200

    status, page = _post(admin, f"{base}/role", role="supervisor", unit=str(south.id))
    assert status == 302 and "Rollen och enheten är sparade." in page
    assert _user(db, "cw.north").role == "supervisor"
    status, page = _post(admin, f"{base}/role", role="caseworker", unit="")
    assert "måste höra till en enhet" in page and _user(db, "cw.north").role == "supervisor"

    status, page = _post(admin, f"{base}/expiry", last_day="9999-12-31")
    assert status == 400 and "Ange ett datum" in page
    assert _post(admin, f"{base}/expiry", last_day="2027-06-30")[0] == 302
    assert str(_user(db, "cw.north").expires_on) == "2027-06-30"

    assert _post(admin, f"{base}/state", enabled="0")[0] == 302
    assert worker.get("/cases").status_code == 302  # logged out at the next request
    assert not _user(db, "cw.north").is_enabled

    status, page = _post(admin, f"{base}/reset")
    code = re.search(r"<strong>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</strong>", page)
    assert status == 200 and code is not None
    # The other forms on that page still show the account as it is, not blank defaults.
    assert '<option selected value="supervisor">' in page
    assert code[1] not in admin.get(base).get_data(as_text=True)  # shown once

    db.rollback()
    updates = [
        entry_fields(body)["details"]
        for body in db.scalars(
            select(AuditEntry.body)
            .where(AuditEntry.action == "admin:user:update")
            .order_by(AuditEntry.seq)
        )
    ]
    assert updates == [
        {"role": ["caseworker", "supervisor"], "unit": [str(north.id), str(south.id)]},
        {"expires_on": [None, "2027-06-30"]},
        {"enabled": [True, False]},
    ]
    status, page = _post(admin, f"/admin/users/{admin_user.id}/state", enabled="0")
    assert "En annan administratör måste ändra ditt eget konto." in page
    assert _user(db, "admin").is_enabled
    assert admin.get(f"/admin/users/{uuid.uuid4()}").status_code == 404


def test_an_administrator_creates_renames_and_retires_units(
    app: Flask, world: World, db: Session
) -> None:
    north = world.unit("nord")
    world.user("cw.north", "caseworker", north)
    world.user("admin", "admin", None)
    admin = _client(app, "admin")
    assert "Enheter" in admin.get("/admin/units").get_data(as_text=True)

    status, page = _post(admin, "/admin/units", code="vast", name="Enhet Väst")
    assert status == 302 and "Enheten är skapad." in page
    status, page = _post(admin, "/admin/units", code="vast", name="Igen")
    assert "En enhet med den koden finns redan." in page
    status, page = _post(admin, "/admin/units", code="Väst Ö", name="Fel kod")
    assert "Använd små bokstäver, siffror och bindestreck." in page

    db.rollback()
    vast = db.scalar(select(Unit).where(Unit.code == "vast"))
    assert vast is not None
    assert (
        "Enheten har bytt namn." in _post(admin, f"/admin/units/{vast.id}/rename", name="Väster")[1]
    )
    page = _post(admin, f"/admin/units/{north.id}/retire")[1]
    assert "har fortfarande aktiva användare" in page
    assert "Enheten är avvecklad." in _post(admin, f"/admin/units/{vast.id}/retire")[1]
    db.rollback()
    vast = db.get(Unit, vast.id)
    assert vast is not None and vast.name == "Väster" and vast.retired_dt is not None
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(vast.id))))
    assert actions == {"admin:unit:create", "admin:unit:rename", "admin:unit:retire"}


def test_an_administrator_creates_a_user_who_then_chooses_a_password(
    app: Flask, world: World, db: Session
) -> None:
    north = world.unit("nord")
    world.user("admin", "admin", None)
    admin = _client(app, "admin")
    assert "/admin/users/new" in admin.get("/admin/users").get_data(as_text=True)
    fields = {
        "display_name": "Test Nyanställd",
        "username": "ny.handlaggare",
        "role": "caseworker",
        "unit": str(north.id),
    }

    # Refused, and nothing created: a bad username, a caseworker without a unit, a taken name.
    for wrong, message in (
        ({"username": "Ny Handläggare"}, "Använd gemena bokstäver"),
        ({"unit": ""}, "måste höra till en enhet"),
        ({"username": "admin"}, "finns redan"),
    ):
        status, page = _post(admin, "/admin/users/new", **(fields | wrong))
        assert status == 400 and message in page, wrong
    db.rollback()
    assert db.scalar(select(User).where(User.username == "ny.handlaggare")) is None

    status, page = _post(admin, "/admin/users/new", **fields)
    assert status == 200 and "Användaren är skapad" in page
    code = re.search(r'<p class="code"><strong>([A-Z2-9-]+)</strong>', page)
    assert code is not None
    created = _user(db, "ny.handlaggare")
    assert (created.role, created.unit_id, created.display_name) == (
        "caseworker",
        north.id,
        "Test Nyanställd",
    )
    db.rollback()
    actions = list(
        db.scalars(select(AuditEntry.action).where(AuditEntry.object_id == str(created.id)))
    )
    assert actions == ["admin:user:create", "admin:user:reset"]

    # Nobody knows a password until the user chooses one with the code.
    newcomer = app.test_client()
    form = {
        "username": "ny.handlaggare",
        "code": code.group(1),
        "password": "tyst-lingon-vandrar-norrut",
        "repeat": "tyst-lingon-vandrar-norrut",
        "csrf_token": csrf(newcomer, "/password/reset"),
    }
    assert newcomer.post("/password/reset", data=form).status_code == 302
    login = {
        "username": "ny.handlaggare",
        "password": "tyst-lingon-vandrar-norrut",
        "csrf_token": csrf(newcomer, "/login"),
    }
    assert newcomer.post("/login", data=login).status_code == 302
    assert newcomer.get("/cases").status_code == 200
