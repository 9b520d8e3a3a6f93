"""The audit log for people: the auditor's filtered, paged view and its CSV export, a case's
access log (loggutdrag) for its supervisor, unusual access, and sample checks. Every reading of
the log is itself logged, bad input changes nothing, and no entry holds personal plaintext."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.audit_log.models import AuditSample, AuditSampleItem
from riskassess.audit_log.services import search
from riskassess.cases.models import Case
from riskassess.core import audit
from riskassess.core.audit import AuditEntry, entry_fields
from tests.conftest import PASSWORD, World, csrf

CHILD = "Testa Fiktivdotter"


@dataclass
class Cast:
    cw_north: User
    cw_south: User
    sup_north: User
    sup_south: User
    auditor: User
    case: Case


@pytest.fixture
def cast(world: World) -> Cast:
    north, south = world.unit("nord"), world.unit("syd")
    cw_north = world.user("cw.north", "caseworker", north)
    return Cast(
        cw_north=cw_north,
        cw_south=world.user("cw.south", "caseworker", south),
        sup_north=world.user("sup.north", "supervisor", north),
        sup_south=world.user("sup.south", "supervisor", south),
        auditor=world.user("auditor", "auditor", None),
        case=world.case(cw_north, name=CHILD),
    )


def client_for(app: Flask, username: str, lang: str = "en") -> FlaskClient:
    """A logged-in client; English, so assertions hold before and after the catalogue."""
    client = app.test_client()
    token = csrf(client, "/login")
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    client.post("/language", data={"lang": lang, "csrf_token": csrf(client, "/instruments")})
    return client


def rows_shown(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', html)]


def entries(db: Session, action: str | None = None) -> list[AuditEntry]:
    db.rollback()
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(db.scalars(query))


def no_plaintext_in_log(db: Session, *secrets: str) -> None:
    for entry in entries(db):
        for secret in secrets:
            assert secret not in entry.body, (entry.action, secret)


def test_auditor_reads_the_log_and_the_reading_is_logged(
    app: Flask, cast: Cast, db: Session
) -> None:
    caseworker = client_for(app, "cw.north")
    assert caseworker.get(f"/cases/{cast.case.id}").status_code == 200
    auditor = client_for(app, "auditor")
    response = auditor.get("/audit")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert cast.case.reference in html
    assert "Test cw.north" in html and "Opened a case" in html
    assert CHILD not in html
    read = entries(db, "audit:log:read")[-1]
    assert read.actor_id == cast.auditor.id
    assert entry_fields(read.body)["details"] == {
        "filter": {},
        "page": 1,
        "shown": len(rows_shown(html)),
    }
    assert read.seq not in rows_shown(html), "the reader does not see their own read"


def test_filters_narrow_the_entries(app: Flask, cast: Cast, db: Session) -> None:
    north = client_for(app, "cw.north")
    north.get("/cases")
    north.get(f"/cases/{cast.case.id}")
    assert client_for(app, "cw.south").get(f"/cases/{cast.case.id}").status_code == 403
    auditor = client_for(app, "auditor")

    def shown(**args: str) -> list[AuditEntry]:
        response = auditor.get("/audit", query_string=args)
        assert response.status_code == 200
        by_seq = {e.seq: e for e in entries(db)}
        return [by_seq[s] for s in rows_shown(response.get_data(as_text=True))]

    south = shown(user=str(cast.cw_south.id))
    assert south and {e.actor_id for e in south} == {cast.cw_south.id}
    assert "denied" in {e.outcome for e in south}

    about_case = shown(case=cast.case.reference.lower())  # case numbers are case-insensitive
    assert {e.action for e in about_case} >= {
        "case:case:create",
        "case:case:read",
        "case:case:list",
    }
    assert all(e.action.startswith("case:") for e in about_case)

    reads = shown(action="case:case:read")
    assert reads and {e.action for e in reads} == {"case:case:read"}

    tomorrow, yesterday = date.today() + timedelta(days=1), date.today() - timedelta(days=1)
    assert shown(date_from=tomorrow.isoformat()) == []
    assert shown(date_to=yesterday.isoformat()) == []
    assert len(shown(date_from=yesterday.isoformat(), date_to=tomorrow.isoformat())) > 3


def test_paging(app: Flask, cast: Cast, db: Session) -> None:
    actor = cast.cw_north.as_actor()
    for _ in range(120):
        audit.append(db, actor, "case:case:read", object_type="case", object_id=cast.case.id)
    db.commit()
    auditor = client_for(app, "auditor")
    first = auditor.get("/audit").get_data(as_text=True)
    assert len(rows_shown(first)) == 50
    assert "page=2" in first
    total = len(entries(db))  # everything so far, the first page's own read included
    pages = -(-total // 50)
    last = auditor.get(f"/audit?page={pages}").get_data(as_text=True)
    assert len(rows_shown(last)) == total - 50 * (pages - 1)
    assert rows_shown(last)[-1] == 1
    assert rows_shown(auditor.get(f"/audit?page={pages + 1}").get_data(as_text=True)) == []
    for odd in ("0", "-3", "many"):  # a pager argument gone wrong means the first page
        html = auditor.get(f"/audit?page={odd}").get_data(as_text=True)
        assert len(rows_shown(html)) == 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"case": "nonsense"}, "A case number looks like RA-ABC2345."),
        ({"case": "RA-ZZZZZZZ"}, "No case has this case number."),
        ({"date_from": "2026-13-45"}, "Not a valid date value."),
        ({"user": "not-a-user"}, "Not a valid choice."),
        ({"user": str(uuid.uuid4())}, "Not a valid choice."),
        ({"action": "case:case:nothing"}, "Not a valid choice."),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "The end date is before the start"),
    ],
)
def test_bad_filter_input_is_explained_and_reads_nothing(
    app: Flask, cast: Cast, db: Session, args: dict[str, str], message: str
) -> None:
    auditor = client_for(app, "auditor")
    before = len(entries(db))
    response = auditor.get("/audit", query_string=args)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert 'aria-invalid="true"' in html
    assert rows_shown(html) == []
    assert len(entries(db)) == before, "an invalid filter reads (and logs) nothing"


def test_swedish_is_the_default_interface(app: Flask, cast: Cast) -> None:
    html = client_for(app, "auditor", lang="sv").get("/audit").get_data(as_text=True)
    assert '<html lang="sv">' in html


def test_export_csv_is_logged_and_holds_no_personal_data(
    app: Flask, cast: Cast, db: Session
) -> None:
    client_for(app, "cw.north").get(f"/cases/{cast.case.id}")
    auditor = client_for(app, "auditor")
    token = csrf(auditor, "/audit")
    response = auditor.post(
        "/audit/export", data={"csrf_token": token, "case": cast.case.reference}
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert header[0] == "Entry" and "Case number" in header and "Entry hash" in header
    assert rows and all(row[header.index("Case number")] == cast.case.reference for row in rows)
    assert CHILD not in text
    export = entries(db, "audit:log:export")[-1]
    details = entry_fields(export.body)["details"]
    assert details == {"filter": {"case": str(cast.case.id)}, "rows": len(rows)}
    no_plaintext_in_log(db, CHILD)


def test_export_needs_a_token_and_a_valid_filter(app: Flask, cast: Cast, db: Session) -> None:
    auditor = client_for(app, "auditor")
    assert auditor.post("/audit/export", data={}).status_code == 400
    token = csrf(auditor, "/audit")
    response = auditor.post("/audit/export", data={"csrf_token": token, "case": "RA-ZZZZZZZ"})
    assert response.status_code == 400
    assert "No case has this case number." in response.get_data(as_text=True)
    assert entries(db, "audit:log:export") == []


def test_case_access_log_for_the_supervisor_of_the_unit(
    app: Flask, cast: Cast, db: Session
) -> None:
    path = f"/cases/{cast.case.id}/access-log"
    client_for(app, "cw.north").get(f"/cases/{cast.case.id}")
    assert client_for(app, "cw.south").get(f"/cases/{cast.case.id}").status_code == 403
    supervisor = client_for(app, "sup.north")
    assert path in supervisor.get(f"/cases/{cast.case.id}").get_data(as_text=True)
    response = supervisor.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Test cw.north" in html and "Test cw.south" in html
    assert cast.case.reference in html and CHILD not in html
    read = entries(db, "audit:case_log:read")[-1]
    assert (read.actor_id, read.object_id, read.outcome) == (
        cast.sup_north.id,
        str(cast.case.id),
        "success",
    )

    assert client_for(app, "sup.south").get(path).status_code == 403
    refused = entries(db, "audit:case_log:read")[-1]
    assert (refused.actor_id, refused.outcome) == (cast.sup_south.id, "denied")
    caseworker = client_for(app, "cw.north")
    assert path not in caseworker.get(f"/cases/{cast.case.id}").get_data(as_text=True)
    assert caseworker.get(path).status_code == 403
    assert client_for(app, "auditor").get(path).status_code == 200
    assert client_for(app, "auditor").get(f"/cases/{uuid.uuid4()}/access-log").status_code == 404


def test_unusual_access_is_highlighted(app: Flask, world: World, cast: Cast, db: Session) -> None:
    owner, stranger = cast.cw_north.as_actor(), cast.cw_south.as_actor()
    many = [world.case(cast.cw_north) for _ in range(10)]
    for case in many:
        audit.append(db, owner, "case:case:read", object_type="case", object_id=case.id)
    audit.append(db, stranger, "case:case:read", object_type="case", object_id=cast.case.id)
    audit.append(db, stranger, "case:case:emergency", object_type="case", object_id=cast.case.id)
    db.commit()
    assert client_for(app, "cw.south").get(f"/cases/{many[0].id}").status_code == 403

    auditor = client_for(app, "auditor")
    html = auditor.get("/audit/unusual").get_data(as_text=True)
    sections = dict(re.findall(r"<h2>([^<]+)</h2>(.*?)(?=<h2>|$)", html, re.S))
    assert "Test cw.north" in sections["Many cases in a short time"]
    assert cast.case.reference in sections["Case data of another unit"]
    assert cast.case.reference in sections["Emergency access"]
    assert many[0].reference in sections["Refused or failed"]
    details = entry_fields(entries(db, "audit:log:read")[-1].body)["details"]
    assert details["view"] == "unusual"

    listing = auditor.get("/audit").get_data(as_text=True)
    assert "Many cases in a short time" in listing
    assert "Case of another unit" in listing
    assert "Emergency access" in listing
    assert "Refused or failed" in listing
    bad = auditor.get("/audit/unusual?date_from=2026-02-01&date_to=2026-01-01")
    assert "The end date is before the start date." in bad.get_data(as_text=True)


def _draw(client: FlaskClient, **fields: str) -> tuple[int, str, str]:
    data = {"csrf_token": csrf(client, "/audit/samples"), **fields}
    response = client.post("/audit/samples", data=data)
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_data(as_text=True),
    )


def test_sample_check_is_drawn_reviewed_and_kept(app: Flask, cast: Cast, db: Session) -> None:
    actor = cast.cw_north.as_actor()
    for _ in range(5):
        audit.append(db, actor, "case:case:read", object_type="case", object_id=cast.case.id)
    db.commit()
    population = len(entries(db, "case:case:read"))
    auditor = client_for(app, "auditor")
    today = date.today()
    status, location, _html = _draw(
        auditor,
        date_from=(today - timedelta(days=1)).isoformat(),
        date_to=today.isoformat(),
        size="3",
    )
    assert status == 302
    db.rollback()
    sample = db.scalars(select(AuditSample)).one()
    assert location.endswith(f"/audit/samples/{sample.id}")
    assert sample.population_count == population
    items = db.scalars(select(AuditSampleItem).where(AuditSampleItem.sample_id == sample.id)).all()
    assert len(items) == 3 and {i.action for i in items} == {"case:case:read"}
    created = entries(db, "audit:sample:create")[-1]
    assert entry_fields(created.body)["details"]["population"] == population

    page = auditor.get(location).get_data(as_text=True)
    assert page.count('name="item') >= 6  # outcome and comment for each of three entries
    first, second = sorted(items, key=lambda i: i.position)[:2]

    def record(item: AuditSampleItem, **fields: str) -> tuple[int, str]:
        prefix = f"item{item.position}-"
        data = {"csrf_token": csrf(auditor, location)}
        data.update({prefix + k: v for k, v in fields.items()})
        response = auditor.post(f"{location}/items/{item.id}", data=data)
        return response.status_code, response.get_data(as_text=True)

    status, html = record(first, outcome="follow_up", comment="  ")
    assert status == 200 and "Describe what needs to be followed up." in html
    status, html = record(first, outcome="maybe")
    assert status == 200 and "Not a valid choice." in html
    status, html = record(first, comment="x" * 2001, outcome="ok")
    assert status == 200 and "2000" in html
    db.rollback()
    assert db.get(AuditSampleItem, first.id).check_outcome is None  # type: ignore[union-attr]

    assert record(first, outcome="ok")[0] == 302
    assert record(second, outcome="follow_up", comment="Fråga Anna om skälet")[0] == 302
    status, _html = record(first, outcome="follow_up", comment="ändrat")
    assert status == 302
    follow = auditor.get(location, follow_redirects=True).get_data(as_text=True)
    assert "already been checked" in follow
    db.rollback()
    checked = {i.id: i for i in db.scalars(select(AuditSampleItem))}
    assert checked[first.id].check_outcome == "ok"
    assert checked[second.id].check_outcome == "follow_up"
    sealed = checked[second.id].comment
    assert sealed is not None and b"Anna" not in sealed
    assert "Fråga Anna om skälet" in follow
    reviews = entries(db, "audit:sample:review")
    assert [entry_fields(e.body)["details"]["outcome"] for e in reviews] == ["ok", "follow_up"]
    no_plaintext_in_log(db, "Anna", CHILD)
    listing = auditor.get("/audit/samples").get_data(as_text=True)
    assert "2 / 3" in listing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"size": "0"}, "Choose between 1 and 100 entries."),
        ({"size": "101"}, "Choose between 1 and 100 entries."),
        ({"size": "many"}, "Not a valid integer value."),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "The end date is before the start"),
        ({"date_from": "not a date"}, "Not a valid date value."),
        ({"date_from": "2000-01-01", "date_to": "2000-01-02"}, "no access entries in this period"),
    ],
)
def test_bad_sample_input_is_explained_and_draws_nothing(
    app: Flask, cast: Cast, db: Session, fields: dict[str, str], message: str
) -> None:
    client_for(app, "cw.north").get(f"/cases/{cast.case.id}")
    auditor = client_for(app, "auditor")
    today = date.today().isoformat()
    status, _location, html = _draw(
        auditor, **({"date_from": today, "date_to": today, "size": "5"} | fields)
    )
    assert status == 200
    assert message in html
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditSample)) == 0


def test_a_sample_keeps_its_record_when_entries_change_or_go(
    app: Flask, cast: Cast, db: Session
) -> None:
    actor = cast.cw_north.as_actor()
    for _ in range(3):
        audit.append(db, actor, "case:case:read", object_type="case", object_id=cast.case.id)
    db.commit()
    auditor = client_for(app, "auditor")
    today = date.today().isoformat()
    status, location, _html = _draw(auditor, date_from=today, date_to=today, size="3")
    assert status == 302
    db.rollback()
    first, second, _third = sorted(db.scalars(select(AuditSampleItem)), key=lambda i: i.position)
    db.execute(delete(AuditEntry).where(AuditEntry.seq == first.entry_seq))
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.seq == second.entry_seq)
        .values(body=AuditEntry.body.op("||")(" "), hash="0" * 64)
    )
    db.commit()
    html = auditor.get(location).get_data(as_text=True)
    assert f"Entry #{first.entry_seq} of" in html and "no longer in the log" in html
    assert f"Entry #{second.entry_seq} has changed since it was drawn" in html
    assert "Opened a case" in html  # the third entry, intact, is shown


def test_an_export_too_large_is_refused_with_a_message(
    app: Flask, cast: Cast, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "EXPORT_LIMIT", 1)
    auditor = client_for(app, "auditor")
    response = auditor.post("/audit/export", data={"csrf_token": csrf(auditor, "/audit")})
    assert response.status_code == 400
    assert "More than 1 entries match. Narrow the filter" in response.get_data(as_text=True)
    assert entries(db, "audit:log:export") == []
