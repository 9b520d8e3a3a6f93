"""Bad input changes nothing and gets a clear message in the user's language.

Every choice field of every form is posted whitespace, an unknown value and a repeated value;
every date field dates outside the accepted range; text fields control characters. Each answer
must be a page with a message (never a 500), and no row outside the audit log may change. Each
field is then posted a good value, which must go through: the refusal came from the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from riskassess.cases.models import Case
from riskassess.core.db import Base
from tests.conftest import PASSWORD, World, csrf, lock_version
from tests.security.test_authorization_matrix import USERNAMES, _arrange

# Reads and refusals are logged, and every request may touch its login session.
NOT_COMPARED = {"audit_entry", "audit_case_ref", "login_session"}
BLANKS = (" ", "\t", "\u3000")
UNKNOWN = "nonsense"


def snapshot(db: Session) -> dict[str, list[str]]:
    """Every row of every table but the audit log's and the login sessions'."""
    db.rollback()
    rows = {}
    for table in Base.metadata.sorted_tables:
        if table.name not in NOT_COMPARED:
            rows[table.name] = sorted(repr(tuple(row)) for row in db.execute(select(table)))
    return rows


@dataclass(frozen=True)
class ChoiceCase:
    role: str
    path: str  # {case}, {draft}, {submitted}, {sample}, {item} from the matrix's cast
    name: str
    good: tuple[str, str]  # two listed values: one posted alone at the end, both as a repeat
    others: dict[str, str] = field(default_factory=dict)
    versioned: str | None = None  # the assessment whose lock_version the form carries
    method: str = "POST"
    changes: bool = True  # whether the good value changes stored data (or only reads)


NEW_CASE = {
    "name": "Fiktiv Person",
    "personnummer": "20120101-9815",  # fictional: serial 98xx; birth date and sex come from it
}


def _caseworker_field(
    path: str, name: str, others: dict[str, str], versioned: str | None = None
) -> ChoiceCase:
    """A caseworker's form with one text or date field under test, the others valid."""
    valid = {k: v for k, v in others.items() if k != name}
    return ChoiceCase("caseworker", path, name, ("", ""), valid, versioned=versioned)


CHOICES = {
    "rating": ChoiceCase(
        "caseworker",
        "/assessments/{draft}/rate/H",
        "rating_H1",
        ("low", "high"),
        {"rationale_H1": "Fiktiv"},
        versioned="draft",
    ),
    "sources": ChoiceCase(
        "caseworker",
        "/assessments/{draft}/rate/H",
        "sources_H1",
        ("school", "school"),
        {"rating_H1": "low"},
        versioned="draft",
    ),
    "judgement": ChoiceCase(
        "caseworker",
        "/assessments/{draft}/judgement",
        "judgement_level",
        ("low", "high"),
        versioned="draft",
    ),
    "plan factors": ChoiceCase(
        "caseworker",
        "/assessments/{draft}/judgement",
        "plan-0-factors",
        ("H1", "H1"),
        {"plan-0-intervention": "Fiktiv insats"},
        versioned="draft",
    ),
    # In the case without an open draft: one open draft per instrument and case.
    "instrument": ChoiceCase(
        "caseworker", "/cases/{other_case}/assessments", "instrument", ("savry-style@1.0", "x")
    ),
    "carried items": ChoiceCase(
        "caseworker",
        "/cases/{other_case}/assessments",
        "carry",
        ("H1", "H1"),
        {"instrument": "savry-style@1.0"},
    ),
    "review decision": ChoiceCase(
        "supervisor",
        "/assessments/{submitted}/review",
        "decision",
        ("approve", "return"),
        {"password": PASSWORD, "comment": "Fiktiv kommentar"},
    ),
    "reveal purpose": ChoiceCase(
        "caseworker",
        "/cases/{case}/reveal",
        "purpose",
        ("case_handling", "supervision"),
        changes=False,
    ),
    "protection": ChoiceCase("supervisor", "/cases/{case}/protection", "protect", ("1", "0")),
    "hold reason": ChoiceCase(
        "supervisor", "/cases/{case}/retention/hold", "reason", ("research", "legal")
    ),
    "finding": ChoiceCase(
        "auditor", "/audit/samples/{sample}/items/{item}", "item1-outcome", ("ok", "follow_up")
    ),
    "audit filter: user": ChoiceCase(
        "auditor", "/audit", "user", ("", ""), method="GET", changes=False
    ),
    "audit filter: event": ChoiceCase(
        "auditor",
        "/audit",
        "action",
        ("case:case:read", "case:case:list"),
        method="GET",
        changes=False,
    ),
    "export filter: event": ChoiceCase(
        "auditor", "/audit/export", "action", ("case:case:read", "case:case:list"), changes=False
    ),
}


class Poster:
    def __init__(self, client: FlaskClient, db: Session, ids: dict[str, str]) -> None:
        self.client, self.db, self.ids = client, db, ids

    def send(self, case: ChoiceCase, values: list[str]) -> tuple[int, str]:
        """Post (or get) the case's form with `values` in its field; the page to read back."""
        path = case.path.format(**self.ids)
        data = MultiDict(case.others)
        data.setlist(case.name, values)
        if case.method == "GET":
            response = self.client.get(path, query_string=data)
            return response.status_code, response.get_data(as_text=True)
        data["csrf_token"] = csrf(self.client, "/instruments")
        if case.versioned:
            data["lock_version"] = str(lock_version(self.db, self.ids[case.versioned]))
        response = self.client.post(path, data=data)
        body = response.get_data(as_text=True)
        if response.status_code == 302:
            body = self.client.get(response.headers["Location"]).get_data(as_text=True)
        return response.status_code, body


def _refused_with_a_message(status: int, body: str) -> bool:
    # 400 with the error page: a hand-made post that the page's own form never sends.
    marked = 'class="error' in body or 'class="flash error' in body
    return status in (200, 302, 400) and (marked or "Begäran kunde inte hanteras" in body)


@pytest.fixture
def poster(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> Callable[[str], Poster]:
    ids = _arrange(world)

    def as_role(role: str) -> Poster:
        login(USERNAMES[role])
        return Poster(client, db, ids)

    return as_role


@pytest.mark.parametrize("which", sorted(CHOICES))
def test_a_choice_field_takes_only_its_listed_values_once(
    which: str, poster: Callable[[str], Poster], db: Session
) -> None:
    case = CHOICES[which]
    post = poster(case.role)
    before = snapshot(db)
    bad: list[list[str]] = [[blank] for blank in BLANKS]
    bad += [[UNKNOWN], [case.good[0], UNKNOWN], list(case.good)]
    for values in bad:
        status, body = post.send(case, values)
        assert status < 500, (values, body[-2000:])
        assert _refused_with_a_message(status, body), (values, status, body[-3000:])
        assert snapshot(db) == before, f"{values!r} changed stored data"
    status, body = post.send(case, [case.good[0]])
    assert status in (200, 302)
    assert not _refused_with_a_message(status, body), body[-3000:]
    if case.changes:
        assert snapshot(db) != before, "the good value must go through"


def test_carrying_forward_refuses_text_and_other_instruments_items(
    poster: Callable[[str], Poster], db: Session
) -> None:
    post = poster("caseworker")
    case = ChoiceCase("caseworker", "/cases/{case}/assessments", "carry", ("H1", "H2"))
    before = snapshot(db)
    for carried in (["Fiktiv Persson 20120101-9815"], ["F1"], ["H1", "x" * 100_000]):
        status, body = post.send(
            ChoiceCase(
                case.role, case.path, case.name, case.good, {"instrument": "savry-style@1.0"}
            ),
            carried,
        )
        assert status == 302
        assert "Bara historiska faktorer i det valda instrumentet" in body
        assert snapshot(db) == before


DATE_FORMS = {
    "audit search": ("auditor", "GET", "/audit", {}),
    "unusual access": ("auditor", "GET", "/audit/unusual", {}),
    "audit export": ("auditor", "POST", "/audit/export", {}),
    "sample": ("auditor", "POST", "/audit/samples", {"size": "3"}),
}


@pytest.mark.parametrize("which", sorted(DATE_FORMS))
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"])
def test_audit_periods_outside_the_range_get_a_message(
    which: str, day: str, poster: Callable[[str], Poster], db: Session
) -> None:
    role, method, path, others = DATE_FORMS[which]
    post = poster(role)
    before = snapshot(db)
    for period in (
        {"date_from": day, "date_to": "2026-01-31"},
        {"date_from": "2026-01-01", "date_to": day},
    ):
        data = {**others, **period}
        if method == "GET":
            response = post.client.get(path, query_string=data)
        else:
            data["csrf_token"] = csrf(post.client, "/audit/samples")
            response = post.client.post(path, data=data)
        body = response.get_data(as_text=True)
        assert response.status_code in (200, 400), body[-2000:]
        assert "Ange ett datum från 1900-01-01 till 2199-12-31." in body
    assert snapshot(db) == before


def test_dates_of_a_plan_stay_in_range(poster: Callable[[str], Poster], db: Session) -> None:
    post = poster("caseworker")
    before = snapshot(db)
    follow_up = _caseworker_field(
        "/assessments/{draft}/judgement",
        "plan-0-follow_up",
        {"plan-0-intervention": "Fiktiv insats"},
        versioned="draft",
    )
    for day in ("0001-01-01", "9999-12-31"):
        status, body = post.send(follow_up, [day])
        assert status == 200
        assert "Ange ett datum från 1900-01-01 till 2199-12-31." in body
    assert snapshot(db) == before


CONTROL = "Fiktiv\x00Person"


def test_control_characters_are_refused_in_names_and_texts(
    poster: Callable[[str], Poster], db: Session
) -> None:
    post = poster("caseworker")
    before = snapshot(db)
    new_case = _caseworker_field("/cases/new", "name", NEW_CASE)
    rationale = _caseworker_field(
        "/assessments/{draft}/rate/H", "rationale_H1", {"rating_H1": "low"}, versioned="draft"
    )
    for case, text in (
        (new_case, CONTROL),
        (new_case, "Fiktiv\tPerson"),  # a name is one line: no tab either
        (rationale, "Motivering\x1b[31m"),
        (rationale, "Motivering\x7f"),
    ):
        status, body = post.send(case, [text])
        assert status == 200, body[-2000:]
        assert "Texten innehöll styrtecken" in body
        assert not any(ch in body for ch in "\x00\x1b\x7f")
    assert snapshot(db) == before
    # Free text keeps its tabs and line breaks.
    status, _body = post.send(rationale, ["Rad ett\r\n\tRad två"])
    assert status == 302
    assert snapshot(db) != before


def test_a_nul_in_the_login_form_is_a_failed_login_not_an_error(
    client: FlaskClient, world: World, db: Session
) -> None:
    _arrange(world)
    for field_name in ("username", "password"):
        data: dict[str, Any] = {"username": "cw.north", "password": PASSWORD}
        data[field_name] = data[field_name] + "\x00"
        data["csrf_token"] = csrf(client, "/login")
        response = client.post("/login", data=data)
        assert response.status_code == 200
        assert "Texten innehöll styrtecken" in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Case)) == 2  # the two _arrange made
