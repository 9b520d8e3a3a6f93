"""Course sessions in the demo: a trainer opens a session, participants join with its code and
a display name, rate vignettes in the assessment rating pages and submit; the trainer sees who
has finished, reveals the results (statistics, heat map), exports them, closes, reopens and
deletes the session. Participants see only their own ratings before the reveal and never
reach a staff page; production knows no training route."""

from __future__ import annotations

import csv
import io
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.core.audit import AuditCaseRef, AuditEntry
from riskassess.training.models import CourseParticipant, CourseRating, CourseSession
from riskassess.training.seed import DEMO_PASSWORD
from tests.conftest import csrf

SAVRY = ("savry-elias", "1.0")
SAVRY_2 = ("savry-liam", "1.0")


def trainer(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/login",
        data={
            "username": "utbildare",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf(client, "/login"),
        },
    )
    assert response.status_code == 302
    return client


def open_course(
    client: FlaskClient, *keys: tuple[str, str], title: str = "Kurs 1"
) -> tuple[str, str]:
    """Create a course; return its page's path and its join code."""
    response = client.post(
        "/courses",
        data={
            "csrf_token": csrf(client, "/courses"),
            "title": title,
            "vignettes": [f"{v}@{ver}" for v, ver in keys],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    path = response.headers["Location"]
    page = client.get(path).get_data(as_text=True)
    code = re.search(r"<code>([A-Z2-9]{6})</code>", page)
    assert code
    return path, code.group(1)


def join(app: Flask, code: str, name: str) -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/join",
        data={"csrf_token": csrf(client, "/join"), "code": code.lower(), "display_name": name},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert response.headers["Location"].endswith("/course")
    return client


def rate_vignette(
    app: Flask,
    client: FlaskClient,
    key: tuple[str, str],
    level: str = "moderate",
    judgement: str = "moderate",
) -> None:
    """Rate every item of a vignette through the shared rating pages, then submit."""
    state = app.extensions["riskassess"]
    vignette = state.vignettes.get(*key)
    instrument = state.instruments.get(vignette.instrument_id, vignette.instrument_version)
    base = f"/course/vignettes/{key[0]}/{key[1]}"
    for domain in instrument.domains:
        path = f"{base}/rate/{domain.code}"
        page = client.get(path).get_data(as_text=True)
        version = re.search(r'name="lock_version"[^>]*value="(\d+)"', page)
        assert version, page[:500]
        data = {"csrf_token": csrf(client, path), "lock_version": version.group(1), "next": "1"}
        for item in domain.items:
            codes = [lvl.code for lvl in item.scale.levels]
            data[f"rating_{item.code}"] = level if level in codes else codes[0]
        response = client.post(path, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    path = f"{base}/judgement"
    page = client.get(path).get_data(as_text=True)
    version = re.search(r'name="lock_version"[^>]*value="(\d+)"', page)
    assert version
    response = client.post(
        path,
        data={
            "csrf_token": csrf(client, path),
            "lock_version": version.group(1),
            "judgement_level": judgement,
            "judgement_reason": "",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    response = client.post(f"{base}/submit", data={"csrf_token": csrf(client, base)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/course"), response.headers["Location"]


def test_a_course_from_the_code_to_the_revealed_results(demo_app: Flask, demo_db: Session) -> None:
    teacher = trainer(demo_app)
    course_path, code = open_course(teacher, SAVRY, SAVRY_2)
    anna = join(demo_app, code, "Anna")
    bo = join(demo_app, code, "Bo")
    rate_vignette(demo_app, anna, SAVRY, "moderate", "moderate")
    rate_vignette(demo_app, anna, SAVRY_2, "high", "high")
    page = teacher.get(course_path).get_data(as_text=True)
    assert "2/2 · " in page and "0/2" in page  # Anna finished, Bo has not
    rate_vignette(demo_app, bo, SAVRY, "low", "low")
    rate_vignette(demo_app, bo, SAVRY_2, "moderate", "moderate")
    # Everyone has finished; the results wait for the reveal.
    page = teacher.get(course_path).get_data(as_text=True)
    assert page.count("2/2 · ") == 2 and "<svg" not in page

    # Before the reveal: no feedback, nothing of anyone else.
    feedback = f"/course/vignettes/{SAVRY[0]}/{SAVRY[1]}/feedback"
    assert anna.get(feedback).status_code == 302
    # The page's text, not its markup: a CSRF token or a nonce may hold the letters "Bo".
    shown = re.sub(r"<[^>]*>", " ", anna.get("/course").get_data(as_text=True))
    assert not re.search(r"\bBo\b", shown)

    response = teacher.post(
        f"{course_path}/reveal", data={"csrf_token": csrf(teacher, course_path)}
    )
    assert response.status_code == 302
    page = teacher.get(course_path).get_data(as_text=True)
    assert 'role="img"' in page and "heat-table" in page
    assert "ICC(2,1)" in page
    assert "Fleiss" in page and "Krippendorff" in page
    # Each participant reads their own feedback with the reference reasons.
    own = anna.get(feedback)
    assert own.status_code == 200
    vignette = demo_app.extensions["riskassess"].vignettes.get(*SAVRY)
    assert vignette.reference[0].reason.sv[:30] in own.get_data(as_text=True)

    export = teacher.get(f"{course_path}/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert rows[0][:2] == ["participant", "vignette"]
    assert {r[0] for r in rows[1:]} == {"Anna", "Bo"}

    # The overview's history shows the course's agreement.
    overview = teacher.get("/courses").get_data(as_text=True)
    assert "Kurs 1" in overview.split('<h2 id="history-title">')[1]
    # The new-course form names each vignette's instrument by its title, not its id.
    assert "(SAVRY-liknande bedömning av våldsrisk hos ungdomar, version 1.0)" in overview
    assert "(savry-style 1.0)" not in overview

    demo_db.rollback()
    actions = set(demo_db.scalars(select(AuditEntry.action)))
    assert {"training:course:create", "training:course:reveal", "training:course:export"} <= actions
    course_ids = {str(c) for c in demo_db.scalars(select(CourseSession.id))}
    refs = {str(r) for r in demo_db.scalars(select(AuditCaseRef.case_id))}
    assert not course_ids & refs


def test_close_reopen_and_delete(demo_app: Flask, demo_db: Session) -> None:
    teacher = trainer(demo_app)
    course_path, code = open_course(teacher, SAVRY)
    anna = join(demo_app, code, "Anna")
    token = csrf(teacher, course_path)
    assert teacher.post(f"{course_path}/close", data={"csrf_token": token}).status_code == 302
    # Closed: no one joins, no one rates.
    late = demo_app.test_client()
    response = late.post(
        "/join", data={"csrf_token": csrf(late, "/join"), "code": code, "display_name": "Cilla"}
    )
    assert response.status_code == 200
    assert "Cilla" not in teacher.get(course_path).get_data(as_text=True)
    rate_page = f"/course/vignettes/{SAVRY[0]}/{SAVRY[1]}/rate/H"
    assert anna.get(rate_page).status_code == 302
    assert teacher.post(f"{course_path}/reopen", data={"csrf_token": token}).status_code == 302
    assert anna.get(rate_page).status_code == 200
    rate_vignette(demo_app, anna, SAVRY)
    assert teacher.post(f"{course_path}/delete", data={"csrf_token": token}).status_code == 302
    demo_db.rollback()
    for model in (CourseSession, CourseParticipant, CourseRating):
        assert demo_db.scalar(select(func.count()).select_from(model)) == 0
    # The deleted course's participant is sent back to the join page.
    response = anna.get("/course")
    assert response.status_code == 302 and response.headers["Location"].endswith("/join")
    actions = set(demo_db.scalars(select(AuditEntry.action)))
    assert {"training:course:close", "training:course:reopen", "training:course:delete"} <= actions


def test_a_submitted_rating_cannot_be_changed(demo_app: Flask, demo_db: Session) -> None:
    teacher = trainer(demo_app)
    _path, code = open_course(teacher, SAVRY)
    anna = join(demo_app, code, "Anna")
    rate_vignette(demo_app, anna, SAVRY)
    response = anna.get(f"/course/vignettes/{SAVRY[0]}/{SAVRY[1]}/rate/H")
    assert response.status_code == 302


def test_an_incomplete_rating_is_not_submitted(demo_app: Flask, demo_db: Session) -> None:
    teacher = trainer(demo_app)
    _path, code = open_course(teacher, SAVRY)
    anna = join(demo_app, code, "Anna")
    base = f"/course/vignettes/{SAVRY[0]}/{SAVRY[1]}"
    response = anna.post(f"{base}/submit", data={"csrf_token": csrf(anna, base)})
    assert response.status_code == 302 and response.headers["Location"].endswith(base)
    demo_db.rollback()
    assert demo_db.scalar(select(CourseRating.submitted_dt)) is None


def test_a_wrong_code_changes_nothing(demo_app: Flask, demo_db: Session) -> None:
    client = demo_app.test_client()
    response = client.post(
        "/join", data={"csrf_token": csrf(client, "/join"), "code": "ZZZZZZ", "display_name": "X"}
    )
    assert response.status_code == 200
    assert "No open course has that code" in response.get_data(
        as_text=True
    ) or "Ingen öppen" in response.get_data(as_text=True)
    demo_db.rollback()
    assert demo_db.scalar(select(func.count()).select_from(CourseParticipant)) == 0


def test_participants_never_reach_staff_pages_or_other_courses(
    demo_app: Flask, demo_db: Session
) -> None:
    teacher = trainer(demo_app)
    first_path, code = open_course(teacher, SAVRY)
    open_course(teacher, SAVRY_2, title="Kurs 2")
    anna = join(demo_app, code, "Anna")
    for path in (
        "/cases",
        "/audit",
        "/reviews",
        "/admin/users",
        "/courses",
        first_path,
        f"{first_path}/export.csv",
        "/instruments",
    ):
        response = anna.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/login"), path
    # A vignette of another course is not one of hers.
    assert anna.get(f"/course/vignettes/{SAVRY_2[0]}/{SAVRY_2[1]}").status_code == 404
    # Without joining, the participant pages lead to the join page.
    stranger = demo_app.test_client()
    response = stranger.get("/course")
    assert response.status_code == 302 and response.headers["Location"].endswith("/join")


def test_production_knows_no_training_route(app: Flask, client: FlaskClient) -> None:
    for path in ("/courses", "/join", "/course", "/course/vignettes/savry-elias/1.0"):
        assert client.get(path).status_code == 404, path


def test_guessing_codes_is_throttled(demo_app: Flask, demo_db: Session) -> None:
    from riskassess.training.views import WRONG_CODE_LIMIT

    allowed = int(WRONG_CODE_LIMIT.split()[0])
    client = demo_app.test_client()
    token = csrf(client, "/join")
    answers = [
        client.post(
            "/join", data={"csrf_token": token, "code": "ZZZZZZ", "display_name": "X"}
        ).status_code
        for _ in range(allowed + 1)
    ]
    assert answers[:allowed] == [200] * allowed
    assert answers[-1] == 429
    demo_db.rollback()
    throttled = demo_db.scalars(
        select(AuditEntry).where(AuditEntry.action == "training:participant:join")
    ).all()
    assert throttled and all(e.outcome == "denied" for e in throttled)
