"""The register of trained raters in the browser's forms: an administrator on the user page, a
supervisor for the own unit's staff; the warning when an unregistered caseworker starts an
assessment, and what the supervisor then sees. Every change is audited without the course's
name, and bad input changes nothing."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts import raters
from riskassess.accounts.models import RaterTraining, User
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import PASSWORD, TEST_ACTOR, World, csrf, rate_everything
from tests.integration.casework import with_record

COURSE = "Fiktiv SAVRY-kurs hos FoU Nord"
ALL_INSTRUMENTS = ("earl-20b-style", "earl-21g-style", "earl-v3-style", "savry-style")


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    form = {"username": username, "password": PASSWORD, "csrf_token": csrf(client, "/login")}
    assert client.post("/login", data=form).status_code == 302
    return client


def _post(client: FlaskClient, path: str, **fields: str) -> tuple[int, str]:
    """Post with a CSRF token; follow a redirect and return the page it leads to."""
    response = client.post(path, data={"csrf_token": csrf(client, "/instruments"), **fields})
    if response.status_code == 302:
        return 302, client.get(response.headers["Location"]).get_data(as_text=True)
    return response.status_code, response.get_data(as_text=True)


def _trainings(db: Session, user: User) -> list[tuple[str, date, str]]:
    db.rollback()
    return [
        (t.instrument_id, t.trained_on, t.course)
        for t in db.scalars(
            select(RaterTraining)
            .where(RaterTraining.user_id == user.id)
            .order_by(RaterTraining.trained_on)
        )
    ]


def _entries(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(
        db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
    )


def _details(entry: AuditEntry) -> dict[str, Any]:
    details: dict[str, Any] = entry_fields(entry.body)["details"]
    return details


@pytest.fixture
def staff(world: World) -> dict[str, User]:
    north, south = world.unit("nord"), world.unit("syd")
    return {
        "cw.north": world.user("cw.north", "caseworker", north),
        "cw.south": world.user("cw.south", "caseworker", south),
        "sup.north": world.user("sup.north", "supervisor", north),
        "admin": world.user("admin", "admin", None),
    }


def _register(world: World, user: User, instrument_id: str, day: date = date(2023, 9, 1)) -> str:
    training = raters.record_training(
        world.session, TEST_ACTOR, user, instrument_id, day, COURSE, ALL_INSTRUMENTS
    )
    world.session.commit()
    return str(training.id)


def test_an_administrator_registers_and_removes_a_training_on_the_user_page(
    app: Flask, staff: dict[str, User], db: Session
) -> None:
    target, admin_user = staff["cw.north"], staff["admin"]
    admin = _client(app, "admin")
    page = admin.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert "Utbildad i instrument" in page and "Ingen utbildning registrerad." in page

    status, page = _post(
        admin,
        f"/users/{target.id}/trainings",
        instrument="savry-style",
        trained_on="2024-05-14",
        course=COURSE,
        back="user",
    )
    assert status == 302 and "Utbildningen är registrerad." in page
    assert COURSE in page and "2024-05-14" in page and "Test admin" in page
    assert _trainings(db, target) == [("savry-style", date(2024, 5, 14), COURSE)]
    training = db.scalar(select(RaterTraining))
    assert training is not None and training.recorded_by_id == admin_user.id

    [recorded] = _entries(db, "account:training:record")
    assert recorded.outcome == "success" and recorded.actor_id == admin_user.id
    assert recorded.object_id == str(target.id)
    assert _details(recorded) == {
        "training": str(training.id),
        "instrument": "savry-style",
        "trained_on": "2024-05-14",
    }
    assert "FoU" not in recorded.body  # the course's name is typed text: never audited

    status, page = _post(admin, f"/trainings/{training.id}/remove", back="user")
    assert status == 302 and "Utbildningen är borttagen ur registret." in page
    assert _trainings(db, target) == []
    [removed] = _entries(db, "account:training:remove")
    assert _details(removed) == _details(recorded) and "FoU" not in removed.body

    # Nobody registers their own training: no form, and a forged post is refused and logged.
    own = admin.get(f"/admin/users/{admin_user.id}").get_data(as_text=True)
    assert "Registrera utbildningen" not in own
    status, _page = _post(
        admin,
        f"/users/{admin_user.id}/trainings",
        instrument="savry-style",
        trained_on="2024-05-14",
        course=COURSE,
    )
    assert status == 403 and _trainings(db, admin_user) == []
    [denied] = _entries(db, "account:training:record")[1:]
    assert denied.outcome == "denied" and denied.object_id == str(admin_user.id)


TOMORROW = (date.today() + timedelta(days=1)).isoformat()
GOOD = {"instrument": "savry-style", "trained_on": "2024-05-14", "course": COURSE}


@pytest.mark.parametrize("who", ["admin", "sup.north"])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"trained_on": TOMORROW}, "Datumet för utbildningen kan inte ligga i framtiden."),
        ({"trained_on": "1989-12-31"}, "Ange ett datum för utbildningen från 1990 och framåt."),
        ({"trained_on": "2024-13-45"}, "Inte ett giltigt datum"),
        ({"trained_on": ""}, "Ange datum för utbildningen."),
        ({"instrument": "made-up-style"}, "Inte ett giltigt val"),
        ({"course": ""}, "Ange utbildningens namn."),
        ({"course": "x" * 201}, "Fältet får inte vara längre än 200 tecken."),
        ({"course": "Kurs\x00namn"}, "styrtecken"),
    ],
)
def test_bad_input_is_explained_and_changes_nothing(
    app: Flask, staff: dict[str, User], db: Session, who: str, change: dict[str, str], message: str
) -> None:
    target = staff["cw.north"]
    client = _client(app, who)
    back = "user" if who == "admin" else "staff"
    status, page = _post(client, f"/users/{target.id}/trainings", back=back, **(GOOD | change))
    assert status == 400 and message in page
    assert "Ingenting sparades. Rätta de markerade fälten." in page
    if who == "sup.north":  # the form with the problem is open on the staff page
        assert re.search(r"<details open>\s*<summary>Registrera en utbildning för Test cw", page)
    assert _trainings(db, target) == []
    assert _entries(db, "account:training:record") == []


def test_the_same_training_twice_is_refused(
    app: Flask, staff: dict[str, User], db: Session
) -> None:
    target = staff["cw.north"]
    admin = _client(app, "admin")
    assert _post(admin, f"/users/{target.id}/trainings", **GOOD)[0] == 302
    status, page = _post(admin, f"/users/{target.id}/trainings", **GOOD)
    assert status == 400
    assert "Utbildningen finns redan i registret (samma instrument och datum)." in page
    assert len(_trainings(db, target)) == 1
    assert len(_entries(db, "account:training:record")) == 1


def test_a_supervisor_manages_the_own_units_staff_only(
    app: Flask, world: World, staff: dict[str, User], db: Session
) -> None:
    north, south, supervisor = staff["cw.north"], staff["cw.south"], staff["sup.north"]
    southern = _register(world, south, "savry-style")
    client = _client(app, "sup.north")
    page = client.get("/staff/trainings").get_data(as_text=True)
    assert 'href="/staff/trainings">Utbildade bedömare</a>' in page  # in the menu
    assert "Test cw.north" in page and "Test cw.south" not in page
    assert "Testenhet nord" in page and "Testenhet syd" not in page
    # Their own row shows, without forms.
    assert "En annan arbetsledare eller en administratör registrerar dina egna" in page
    assert f"/users/{supervisor.id}/trainings" not in page

    status, page = _post(client, f"/users/{north.id}/trainings", back="staff", **GOOD)
    assert status == 302 and "Utbildningen är registrerad." in page and COURSE in page
    assert _trainings(db, north) == [("savry-style", date(2024, 5, 14), COURSE)]

    # Another unit's caseworker, and oneself: refused, logged, nothing changed.
    for target in (south, supervisor):
        status, _page = _post(client, f"/users/{target.id}/trainings", back="staff", **GOOD)
        assert status == 403
    status, _page = _post(client, f"/trainings/{southern}/remove", back="staff")
    assert status == 403
    assert _trainings(db, south) == [("savry-style", date(2023, 9, 1), COURSE)]
    assert _trainings(db, supervisor) == []
    denied = [
        (e.action, e.object_id)
        for e in _entries(db, "account:training:record") + _entries(db, "account:training:remove")
        if e.outcome == "denied"
    ]
    assert sorted(denied) == sorted(
        [
            ("account:training:record", str(south.id)),
            ("account:training:record", str(supervisor.id)),
            ("account:training:remove", str(south.id)),
        ]
    )

    training = db.scalar(select(RaterTraining.id).where(RaterTraining.user_id == north.id))
    status, page = _post(client, f"/trainings/{training}/remove", back="staff")
    assert status == 302 and "Utbildningen är borttagen ur registret." in page
    assert _trainings(db, north) == []
    assert client.post(f"/trainings/{uuid.uuid4()}/remove").status_code in (400, 404)

    # The administrator's overview holds every unit's staff.
    overview = _client(app, "admin").get("/staff/trainings").get_data(as_text=True)
    assert "Test cw.north" in overview and "Test cw.south" in overview and COURSE in overview


def _warning(page: str) -> str | None:
    found = re.search(r"Du är inte registrerad som utbildad i: ([^<]*)\.</strong>", page)
    return None if found is None else found[1]


def test_an_unregistered_caseworker_is_warned_and_the_supervisor_sees_it(
    app: Flask,
    world: World,
    staff: dict[str, User],
    db: Session,
) -> None:
    registry = world.registry
    case = world.case(staff["cw.north"])
    worker = _client(app, "cw.north")
    page = worker.get(f"/cases/{case.id}").get_data(as_text=True)
    warned = _warning(page)
    assert warned is not None and "SAVRY" in warned and "EARL-20B" in warned
    assert "Socialstyrelsens vägledning för SAVRY" in page
    assert "(1.0) – du är inte registrerad som utbildad</option>" in page

    status, page = _post(worker, f"/cases/{case.id}/assessments", instrument="savry-style@1.0")
    assert status == 302
    assert "Du är inte registrerad som utbildad i detta instrument. Det antecknas" in page
    db.rollback()
    first = db.scalar(select(Assessment))
    assert first is not None and first.is_rater_registered is False
    [created] = _entries(db, "case:assessment:create")
    assert _details(created)["trained"] == "no"

    rate_everything(worker, db, registry, str(first.id))
    assert _post(worker, f"/assessments/{first.id}/submit")[0] == 302
    supervisor = _client(app, "sup.north")
    queue = supervisor.get("/reviews").get_data(as_text=True)
    assert "Bedömaren är inte registrerad som utbildad" in queue
    shown = supervisor.get(f"/assessments/{first.id}").get_data(as_text=True)
    assert "Påbörjad av en bedömare som inte är registrerad som utbildad" in shown

    # Registered in SAVRY: no warning for it, no note on the new assessment.
    _register(world, staff["cw.north"], "savry-style")
    page = worker.get(f"/cases/{case.id}").get_data(as_text=True)
    warned = _warning(page)
    assert warned is not None and "SAVRY" not in warned and "EARL-20B" in warned
    status, page = _post(worker, f"/cases/{case.id}/assessments", instrument="savry-style@1.0")
    assert status == 302 and "Du är inte registrerad som utbildad" not in page
    db.rollback()
    second = db.scalar(select(Assessment).where(Assessment.id != first.id))
    assert second is not None and second.is_rater_registered is True
    assert _details(_entries(db, "case:assessment:create")[-1])["trained"] == "yes"
    shown = supervisor.get(f"/assessments/{second.id}").get_data(as_text=True)
    assert "Påbörjad av en bedömare som inte är registrerad" not in shown

    # Registered in every instrument: no warning at all.
    for instrument_id in ("earl-20b-style", "earl-21g-style", "earl-v3-style"):
        _register(world, staff["cw.north"], instrument_id)
    page = worker.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "inte registrerad som utbildad" not in page


def test_a_correction_by_an_unregistered_caseworker_is_recorded(
    app: Flask,
    world: World,
    staff: dict[str, User],
    db: Session,
) -> None:
    registry = world.registry
    worker, supervisor = staff["cw.north"], staff["sup.north"]
    instrument = registry.get("savry-style", "1.0")
    assert instrument is not None
    training = _register(world, worker, "savry-style")
    case = world.case(worker)
    session, vault = world.session, world.vault
    approved = assessments.start_assessment(session, vault, worker, case, instrument)
    full = with_record(
        Content(
            {
                item.code: ItemRating(item.scale.levels[0].code, "Fiktiv")
                for item in instrument.items
            },
            "low",
            "Fiktiv sammanfattning",
        )
    )
    assessments.save_assessment(session, vault, worker, case, approved, full, 1)
    assessments.submit_assessment(session, vault, worker, case, approved, instrument)
    assessments.approve_assessment(
        session, vault, world.passwords, supervisor, case, approved, instrument, "", PASSWORD
    )
    found = session.get(RaterTraining, uuid.UUID(training))
    assert found is not None
    raters.remove_training(session, TEST_ACTOR, found)  # it had been entered by mistake
    session.commit()
    assert approved.is_rater_registered is True

    client = _client(app, "cw.north")
    page = client.get(f"/assessments/{approved.id}").get_data(as_text=True)
    assert "Du är inte registrerad som utbildad i detta instrument." in page  # before starting
    status, page = _post(client, f"/assessments/{approved.id}/correct", reason="Fiktivt skäl")
    assert status == 302 and "Det antecknas på bedömningen" in page
    db.rollback()
    correction = db.scalar(select(Assessment).where(Assessment.previous_id == approved.id))
    assert correction is not None and correction.is_rater_registered is False
    [corrected] = _entries(db, "case:assessment:correct")
    assert _details(corrected) == {"corrects": str(approved.id), "trained": "no"}
