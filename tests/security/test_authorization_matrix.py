"""Every route in the app's URL map, for every role, answers as this table says.

A new route without a row here fails `test_every_route_is_in_the_matrix`, so each route is
checked for every role as it is added. Every refusal (403) must leave an audit entry.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskassess.accounts import raters
from riskassess.assessments import services as assessments
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import FollowUp
from riskassess.audit_log import services as audit_log
from riskassess.cases.models import Case, CaseAccess, CaseTransfer
from riskassess.core import audit
from riskassess.core.audit import AuditEntry
from riskassess.core.db import utcnow
from riskassess.web import PUBLIC
from tests.conftest import PASSWORD, World, csrf
from tests.integration.casework import with_record

ROLES = (
    "anonymous",
    "caseworker",
    "caseworker_other_unit",
    "supervisor",
    "trainer",
    "admin",
    "auditor",
    "manager",
)
USERNAMES = {
    "caseworker": "cw.north",
    "caseworker_other_unit": "cw.south",
    "supervisor": "sup.north",
    "trainer": "trainer",
    "admin": "admin",
    "auditor": "auditor",
    "manager": "manager",
}
LOGIN = "login"  # anonymous visitors are sent to the login page


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {case}, {draft}, {submitted} are filled in per test
    expected: dict[str, int | str]
    form: tuple[tuple[str, str], ...] = ()


def _only(allowed: dict[str, int], others: int | str = 403) -> dict[str, int | str]:
    expected: dict[str, int | str] = {role: others for role in ROLES}
    expected["anonymous"] = LOGIN
    expected.update(allowed)
    return expected


EVERY_USER = {role: 200 for role in ROLES if role != "anonymous"}

MATRIX: dict[str, Route] = {
    "static": Route("GET", "/static/style.css", {role: 200 for role in ROLES}),
    # A load balancer's checks: public, no session, no case data, no audit entry.
    "health.healthz": Route("GET", "/healthz", {role: 200 for role in ROLES}),
    "health.readyz": Route("GET", "/readyz", {role: 200 for role in ROLES}),
    "accounts.index": Route("GET", "/", {role: 302 for role in ROLES}),
    "accounts.login": Route("GET", "/login", {"anonymous": 200} | {r: 302 for r in ROLES[1:]}),
    "accounts.logout": Route("POST", "/logout", {role: 302 for role in ROLES}),
    "accounts.logout_everywhere": Route(
        "POST", "/logout/everywhere", _only({role: 302 for role in ROLES[1:]})
    ),
    "accounts.reset_password": Route("GET", "/password/reset", {role: 200 for role in ROLES}),
    "accounts.set_language": Route(
        "POST", "/language", {role: 302 for role in ROLES}, (("lang", "en"),)
    ),
    "accounts.list_users": Route("GET", "/admin/users", _only({"admin": 200})),
    "accounts.units": Route("GET", "/admin/units", _only({"admin": 200})),
    "accounts.rename_unit": Route(
        "POST", "/admin/units/{unit}/rename", _only({"admin": 302}), (("name", "Enhet Nord"),)
    ),
    "accounts.retire_unit": Route("POST", "/admin/units/{unit}/retire", _only({"admin": 302})),
    "accounts.show_user": Route("GET", "/admin/users/{user}", _only({"admin": 200})),
    "accounts.create_user": Route("GET", "/admin/users/new", _only({"admin": 200})),
    "accounts.set_user_role": Route(
        "POST", "/admin/users/{user}/role", _only({"admin": 302}), (("role", "trainer"),)
    ),
    "accounts.set_user_state": Route(
        "POST", "/admin/users/{user}/state", _only({"admin": 302}), (("enabled", "1"),)
    ),
    "accounts.set_user_expiry": Route(
        "POST", "/admin/users/{user}/expiry", _only({"admin": 302}), (("last_day", ""),)
    ),
    "accounts.issue_reset_code": Route("POST", "/admin/users/{user}/reset", _only({"admin": 200})),
    # Without a right password first, the code steps send everyone back to the login page.
    "mfa.login_code": Route("GET", "/login/code", {role: 302 for role in ROLES}),
    "mfa.login_setup": Route("GET", "/login/setup", {role: 302 for role in ROLES}),
    "mfa.account": Route("GET", "/account/mfa", _only(EVERY_USER)),
    "mfa.account_setup": Route("GET", "/account/mfa/setup", _only(EVERY_USER)),
    "mfa.renew_codes": Route(
        "POST", "/account/mfa/recovery", _only({role: 302 for role in ROLES[1:]})
    ),
    "mfa.turn_off": Route("POST", "/account/mfa/off", _only({role: 302 for role in ROLES[1:]})),
    "mfa.reset_user": Route("POST", "/admin/users/{user}/mfa", _only({"admin": 302})),
    "accounts.staff_trainings": Route(
        "GET", "/staff/trainings", _only({"admin": 200, "supervisor": 200})
    ),
    # The caseworker of the supervisor's own unit: an administrator or that supervisor.
    "accounts.add_training": Route(
        "POST",
        "/users/{staff}/trainings",
        _only({"admin": 302, "supervisor": 302}),
        (("instrument", "earl-20b-style"), ("trained_on", "2024-05-14"), ("course", "Fiktiv")),
    ),
    "accounts.remove_training": Route(
        "POST", "/trainings/{training}/remove", _only({"admin": 302, "supervisor": 302})
    ),
    "cases.list_cases": Route(
        "GET", "/cases", _only({"caseworker": 200, "caseworker_other_unit": 200, "supervisor": 200})
    ),
    "cases.new_case": Route(
        "GET", "/cases/new", _only({"caseworker": 200, "caseworker_other_unit": 200})
    ),
    "cases.show_case": Route("GET", "/cases/{case}", _only({"caseworker": 200, "supervisor": 200})),
    "cases.search_cases": Route(
        "GET",
        "/cases/search",
        _only({"caseworker": 200, "caseworker_other_unit": 200, "supervisor": 200}),
    ),
    "cases.hold_retention": Route(
        "POST",
        "/cases/{case}/retention/hold",
        _only({"supervisor": 302}),
        (("reason", "research"), ("note", "")),
    ),
    "cases.release_retention": Route(
        "POST", "/cases/{case}/retention/release", _only({"supervisor": 302})
    ),
    "cases.reveal_identity": Route(
        "POST",
        "/cases/{case}/reveal",
        _only({"caseworker": 200, "supervisor": 200}),
        (("purpose", "case_handling"),),
    ),
    "cases.close": Route(
        "POST", "/cases/{case}/close", _only({"caseworker": 302, "supervisor": 302})
    ),
    "cases.assign": Route(
        "POST", "/cases/{case}/assign", _only({"supervisor": 302}), (("caseworker", "{colleague}"),)
    ),
    "followups.due_list": Route(
        "GET",
        "/follow-ups",
        _only({"caseworker": 200, "caseworker_other_unit": 200, "supervisor": 200}),
    ),
    # The caseworkers and supervisors of the case's unit; the other unit's caseworker holds
    # the permission but is refused by the unit rule.
    "followups.mark_done": Route(
        "POST", "/follow-ups/{follow_up}/done", _only({"caseworker": 302, "supervisor": 302})
    ),
    "cases.protection": Route(
        "POST", "/cases/{case}/protection", _only({"supervisor": 302}), (("protect", "1"),)
    ),
    "cases.emergency_access": Route(
        "GET",
        "/emergency",
        _only({"caseworker": 200, "caseworker_other_unit": 200, "supervisor": 200}),
    ),
    "cases.review_access": Route(
        "POST", "/case-access/{access}/review", _only({"supervisor": 302})
    ),
    # From the "case exists in another unit" page; an empty number is refused with a message.
    "cases.request_transfer": Route(
        "POST",
        "/cases/transfer-requests",
        _only({"caseworker": 302, "caseworker_other_unit": 302}),
        (("personnummer", ""),),
    ),
    "cases.list_duplicates": Route("GET", "/cases/duplicates", _only({"supervisor": 200})),
    "cases.merge": Route(
        "POST", "/cases/{case}/merge", _only({"supervisor": 302}), (("merged", ""),)
    ),
    "cases.list_transfers": Route("GET", "/cases/transfers", _only({"supervisor": 200})),
    "cases.decide_transfer": Route(
        "POST",
        "/case-transfers/{transfer}/decide",
        _only({"supervisor": 302}),
        (("decision", "decline"),),
    ),
    # The registerutdrag: the supervisors of the child's unit, by POST (nothing in the URL).
    "rights.register_extract": Route(
        "POST", "/cases/{case}/register-extract", _only({"supervisor": 200})
    ),
    "rights.register_extract_json": Route(
        "POST", "/cases/{case}/register-extract.json", _only({"supervisor": 200})
    ),
    # The information text for children and guardians: public to read, administrators edit.
    "rights.show_information": Route("GET", "/information", {role: 200 for role in ROLES}),
    "rights.edit_information": Route("GET", "/information/edit", _only({"admin": 200})),
    # No version is saved in the arranged world: the administrator is told it is not found.
    "rights.information_version": Route("GET", "/information/versions/1", _only({"admin": 404})),
    "assessments.start": Route(
        "POST",
        "/cases/{case}/assessments",
        _only({"caseworker": 302}),
        (("instrument", "savry-style@1.0"),),
    ),
    "assessments.show": Route(
        "GET", "/assessments/{draft}", _only({"caseworker": 200, "supervisor": 200})
    ),
    "assessments.rate": Route("GET", "/assessments/{draft}/rate/H", _only({"caseworker": 200})),
    "assessments.judgement": Route(
        "GET", "/assessments/{draft}/judgement", _only({"caseworker": 200})
    ),
    "record.investigation": Route(
        "GET", "/assessments/{draft}/investigation", _only({"caseworker": 200})
    ),
    "record.voices": Route("GET", "/assessments/{draft}/voices", _only({"caseworker": 200})),
    # Feedback needs an approved assessment: the submitted one is refused with a message.
    "record.record_feedback": Route(
        "POST",
        "/assessments/{submitted}/feedback",
        _only({"caseworker": 302}),
        (("to", "child"), ("on", "2026-01-01"), ("how", "meeting"), ("agreement", "agrees")),
    ),
    "assessments.report": Route(
        "GET", "/assessments/{submitted}/report", _only({"caseworker": 200, "supervisor": 200})
    ),
    "assessments.report_reveal": Route(
        "POST",
        "/assessments/{submitted}/report",
        _only({"caseworker": 200, "supervisor": 200}),
        (("purpose", "case_handling"),),
    ),
    "assessments.compare": Route(
        "GET", "/cases/{case}/compare", _only({"caseworker": 200, "supervisor": 200})
    ),
    "assessments.withdraw": Route(
        "POST",
        "/assessments/{draft}/withdraw",
        _only({"caseworker": 302}),
        (("reason", "Fiktivt skäl"),),
    ),
    "assessments.correct": Route(
        "POST",
        "/assessments/{submitted}/correct",
        _only({"caseworker": 302}),
        (("reason", "Fiktivt skäl"),),
    ),
    "assessments.submit": Route("POST", "/assessments/{draft}/submit", _only({"caseworker": 302})),
    "assessments.review_queue": Route("GET", "/reviews", _only({"supervisor": 200})),
    "assessments.review": Route(
        "POST",
        "/assessments/{submitted}/review",
        _only({"supervisor": 302}),
        (("decision", "approve"), ("comment", ""), ("password", PASSWORD)),
    ),
    # Aggregates only: a supervisor's own unit, every unit for a manager.
    "reports.statistics": Route("GET", "/reports", _only({"supervisor": 200, "manager": 200})),
    "reports.export": Route(
        "POST",
        "/reports.csv",
        _only({"supervisor": 200, "manager": 200}),
        (("date_from", "2026-01-01"), ("date_to", "2026-06-30"), ("instrument", "savry-style@1.0")),
    ),
    "audit_log.search": Route("GET", "/audit", _only({"auditor": 200})),
    "audit_log.export": Route("POST", "/audit/export", _only({"auditor": 200})),
    "audit_log.unusual": Route("GET", "/audit/unusual", _only({"auditor": 200})),
    "audit_log.samples": Route("GET", "/audit/samples", _only({"auditor": 200})),
    "audit_log.draw_sample": Route(
        "POST",
        "/audit/samples",
        _only({"auditor": 302}),
        (("date_from", "2020-01-01"), ("date_to", "2100-12-31"), ("size", "3")),
    ),
    "audit_log.show_sample": Route("GET", "/audit/samples/{sample}", _only({"auditor": 200})),
    "audit_log.record_check": Route(
        "POST",
        "/audit/samples/{sample}/items/{item}",
        _only({"auditor": 302}),
        (("item1-outcome", "ok"), ("item1-comment", "")),
    ),
    "audit_log.case_log": Route(
        "GET", "/cases/{case}/access-log", _only({"supervisor": 200, "auditor": 200})
    ),
    "instruments.list_instruments": Route("GET", "/instruments", _only(EVERY_USER)),
    "instruments.show_instrument": Route("GET", "/instruments/savry-style/1.0", _only(EVERY_USER)),
}

# Course sessions (training) exist in demo mode only: in production every route of theirs is
# not found, for every visitor, before any log-in check. DEMO_MATRIX below checks them in the
# demo, for every role and for course participants.
NOT_FOUND = {role: 404 for role in ROLES}
VIGNETTE = "/course/vignettes/savry-elias/1.0"
TRAINING_ROUTES: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "training.courses_overview": ("GET", "/courses", ()),
    "training.course": ("GET", "/courses/{course}", ()),
    "training.reveal": ("POST", "/courses/{course}/reveal", ()),
    "training.close": ("POST", "/courses/{course}/close", ()),
    "training.reopen": ("POST", "/courses/{course}/reopen", ()),
    "training.delete": ("POST", "/courses/{course}/delete", ()),
    "training.export": ("GET", "/courses/{course}/export.csv", ()),
    "training.join": ("GET", "/join", ()),
    "training.my_course": ("GET", "/course", ()),
    "training.leave": ("POST", "/course/leave", ()),
    "training.vignette": ("GET", VIGNETTE, ()),
    "training.rate": ("GET", VIGNETTE + "/rate/H", ()),
    "training.judgement": ("GET", VIGNETTE + "/judgement", ()),
    "training.submit": ("POST", VIGNETTE + "/submit", ()),
    "training.feedback": ("GET", VIGNETTE + "/feedback", ()),
}
for _endpoint, (_method, _path, _form) in TRAINING_ROUTES.items():
    MATRIX[_endpoint] = Route(_method, _path, dict(NOT_FOUND), _form)


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(MATRIX), "add the new route to MATRIX (and its permission)"


def test_every_view_declares_its_permission(app: Flask) -> None:
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert getattr(view, "permission", None) is not None, f"{endpoint} has no @require/@public"
        expected = (DEMO_MATRIX if endpoint in DEMO_MATRIX else MATRIX)[endpoint].expected
        if expected.get("anonymous") != LOGIN:
            assert view.permission == PUBLIC, f"{endpoint} is reachable anonymously but not @public"


def _arrange(world: World) -> dict[str, str]:
    north, south = world.unit("nord"), world.unit("syd")
    owner = world.user("cw.north", "caseworker", north)
    colleague = world.user("cw.north2", "caseworker", north)  # a case can be given to
    outsider = world.user("cw.south", "caseworker", south)
    world.user("sup.north", "supervisor", north)
    trainer = world.user("trainer", "trainer", None)
    world.user("admin", "admin", None)
    auditor = world.user("auditor", "auditor", None)
    world.user("manager", "manager", None)
    case = world.case(owner)
    instrument = world.registry.get("savry-style", "1.0")
    assert instrument is not None
    session, vault = world.session, world.vault
    # One open assessment per instrument and case: the submitted one is in a second case.
    draft = assessments.start_assessment(session, vault, owner, case, instrument)
    submitted = assessments.start_assessment(session, vault, owner, world.case(owner), instrument)
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
    second = session.get(Case, submitted.case_id)
    assert second is not None
    assessments.save_assessment(
        session, vault, owner, second, submitted, full, submitted.lock_version
    )
    assessments.submit_assessment(session, vault, owner, second, submitted, instrument)
    session.commit()
    # One access to sample, and a sample check holding it.
    audit.append(session, owner.as_actor(), "case:case:read", object_type="case", object_id=case.id)
    now = utcnow()
    sample = audit_log.draw_sample(
        session, vault, auditor, now - timedelta(days=1), now + timedelta(days=1), 5
    )
    session.commit()
    # An emergency access by the other unit, expired so it grants nothing, to follow up.
    emergency = CaseAccess(
        id=uuid.uuid4(),
        case_id=case.id,
        user_id=outsider.id,
        kind="emergency",
        purpose="urgent_protection",
        granted_dt=now - timedelta(hours=6),
        expires_dt=now - timedelta(hours=2),
    )
    session.add(emergency)
    # A follow-up date of a plan, to be marked as done.
    follow_up = FollowUp(
        id=uuid.uuid4(),
        case_id=case.id,
        assessment_id=submitted.id,
        plan_row=0,
        due_on=date.today(),
    )
    session.add(follow_up)
    # The other unit asks for the case; the supervisor of its unit decides.
    transfer = CaseTransfer(
        id=uuid.uuid4(),
        case_id=case.id,
        from_unit_id=north.id,
        to_unit_id=south.id,
        requested_by_id=outsider.id,
        state="pending",
    )
    session.add(transfer)
    training = raters.record_training(
        session,
        audit.Actor.system("test-setup"),
        owner,
        "savry-style",
        date(2023, 9, 1),
        "Fiktiv kurs",
        {"savry-style"},
    )
    session.commit()
    return {
        "staff": str(owner.id),
        "colleague": str(colleague.id),
        "follow_up": str(follow_up.id),
        "training": str(training.id),
        "access": str(emergency.id),
        "transfer": str(transfer.id),
        "case": str(case.id),
        "other_case": str(second.id),  # no open draft: an assessment can be started there
        "draft": str(draft.id),
        "submitted": str(submitted.id),
        "sample": str(sample.id),
        "item": str(sample.items[0].id),
        "user": str(trainer.id),  # the account the administrator's pages act on
        "unit": str(north.id),  # it has members and cases: retiring it is refused
        "course": str(uuid.uuid4()),  # production has none: every training route is not found
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_route_answers_as_the_matrix_says(
    endpoint: str,
    role: str,
    client: FlaskClient,
    world: World,
    db: Session,
    login: Callable[[str], None],
) -> None:
    route = MATRIX[endpoint]
    ids = _arrange(world)
    if role != "anonymous":
        login(USERNAMES[role])
    path = route.path.format(**ids)
    if route.method == "GET":
        response = client.get(path)
    else:
        token = csrf(client, "/login" if role == "anonymous" else "/instruments")
        form = {name: value.format(**ids) for name, value in route.form}
        response = client.post(path, data={"csrf_token": token, **form})
    body = response.get_data(as_text=True)
    response.close()  # static files are streamed from an open file
    expected = route.expected[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/login")
        return
    assert response.status_code == expected, body[:300]
    if expected == 403:
        db.rollback()
        denied = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        assert denied, "a refusal must be audited"
        assert "Testa Fiktivdotter" not in body


# -- course sessions in the demo ------------------------------------------------------------

DEMO_ROLES = ("anonymous", "participant", "caseworker", "supervisor", "trainer", "admin", "auditor")
DEMO_USERNAMES = {
    "caseworker": "handlaggare.a",
    "supervisor": "arbetsledare.a",
    "trainer": "utbildare",
    "admin": "admin",
    "auditor": "granskare",
}
JOIN = "join"  # anyone without a participant key is sent to the join page


def _trainer_only(answer: int) -> dict[str, int | str]:
    # A participant is no logged-in user: the trainer's pages send them to the login page.
    expected: dict[str, int | str] = {role: 403 for role in DEMO_ROLES}
    expected.update({"anonymous": LOGIN, "participant": LOGIN, "trainer": answer})
    return expected


def _participant_only(answer: int | str) -> dict[str, int | str]:
    expected: dict[str, int | str] = {role: JOIN for role in DEMO_ROLES}
    expected["participant"] = answer
    return expected


DEMO_EXPECTED: dict[str, dict[str, int | str]] = {
    "training.courses_overview": _trainer_only(200),
    "training.course": _trainer_only(200),
    "training.reveal": _trainer_only(302),
    "training.close": _trainer_only(302),
    "training.reopen": _trainer_only(302),
    "training.delete": _trainer_only(302),
    "training.export": _trainer_only(200),
    "training.join": {role: 200 for role in DEMO_ROLES},
    "training.my_course": _participant_only(200),
    "training.leave": _participant_only(JOIN),
    "training.vignette": _participant_only(200),
    "training.rate": _participant_only(200),
    "training.judgement": _participant_only(200),
    # Nothing rated yet: back to the vignette page, nothing submitted.
    "training.submit": _participant_only(302),
    # Before the reveal: back to the participant's course page.
    "training.feedback": _participant_only(302),
}
DEMO_MATRIX: dict[str, Route] = {
    endpoint: Route(method, path, DEMO_EXPECTED[endpoint], form)
    for endpoint, (method, path, form) in TRAINING_ROUTES.items()
}


def test_every_training_route_is_in_the_demo_matrix(app: Flask) -> None:
    training = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("training.")
    }
    assert training == set(DEMO_MATRIX)


def _demo_login(client: FlaskClient, username: str) -> None:
    from riskassess.training.seed import DEMO_PASSWORD

    response = client.post(
        "/login",
        data={
            "username": username,
            "password": DEMO_PASSWORD,
            "csrf_token": csrf(client, "/login"),
        },
    )
    assert response.status_code == 302


def _denied(db: Session) -> int:
    db.rollback()
    return len(db.scalars(select(AuditEntry.seq).where(AuditEntry.outcome == "denied")).all())


@pytest.mark.parametrize("role", DEMO_ROLES)
@pytest.mark.parametrize("endpoint", sorted(DEMO_MATRIX))
def test_training_route_answers_as_the_demo_matrix_says(
    endpoint: str, role: str, demo_app: Flask, demo_db: Session
) -> None:
    route = DEMO_MATRIX[endpoint]
    teacher = demo_app.test_client()
    _demo_login(teacher, "utbildare")
    created = teacher.post(
        "/courses",
        data={
            "csrf_token": csrf(teacher, "/courses"),
            "title": "Matriskurs",
            "vignettes": ["savry-elias@1.0"],
        },
    )
    assert created.status_code == 302
    course_path = created.headers["Location"]
    code = re.search(r"<code>([A-Z2-9]{6})</code>", teacher.get(course_path).get_data(as_text=True))
    assert code
    client = teacher if role == "trainer" else demo_app.test_client()
    if role == "participant":
        joined = client.post(
            "/join",
            data={
                "csrf_token": csrf(client, "/join"),
                "code": code.group(1),
                "display_name": "Deltagare",
            },
        )
        assert joined.status_code == 302
    elif role in DEMO_USERNAMES and role != "trainer":
        _demo_login(client, DEMO_USERNAMES[role])
    path = route.path.format(course=course_path.rsplit("/", 1)[1])
    before = _denied(demo_db)
    if route.method == "GET":
        response = client.get(path)
    else:
        token = csrf(client, "/join")
        response = client.post(path, data={"csrf_token": token, **dict(route.form)})
    body = response.get_data(as_text=True)
    expected = route.expected[role]
    if expected in (LOGIN, JOIN):
        assert response.status_code == 302, body[:300]
        assert response.headers["Location"].endswith(f"/{expected}")
        return
    assert response.status_code == expected, body[:300]
    if expected == 403:
        assert _denied(demo_db) > before, "a refusal must be audited"
