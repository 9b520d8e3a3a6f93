"""Lists that say what to do next (issue 15, item 1): the case list's columns, assigning
cases, the review queue's caseworker and child, instrument titles, hashes folded away, one
date format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.followup import add_months
from riskassess.cases import listing
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry
from tests.conftest import World, csrf
from tests.integration.casework import (
    SAVRY,
    SAVRY_TITLE_SV,
    approved,
    days,
    draft,
    returned,
    row_of,
    staff,
    submitted,
)


def _audit(db: Session, action: str) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_case_list_says_where_each_case_stands(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    team = staff(world)
    owner, sup = team.owner, team.supervisor
    fresh = world.case(owner, name="Ada Ingenbedömning")
    drafted = world.case(owner, name="Bea Utkastsson")
    draft(world, owner, drafted)
    waiting = world.case(owner, name="Cem Inskickad")
    submitted(world, owner, waiting)
    planned = world.case(owner, name="Dag Planerad")
    approved(world, owner, sup, planned, plan=[("Fiktiv insats", days(10))])
    due = world.case(owner, name="Eva Ombedömning")
    approved(world, owner, sup, due, on=add_months(days(-1), -6))
    sent_back = world.case(owner, name="Fia Returnerad")
    returned(world, owner, sup, sent_back, "Komplettera, tack.")
    hidden = world.case(owner, name="Gun Skyddad")
    hidden.is_protected = True
    world.session.commit()
    approved(world, owner, sup, hidden)

    login("sup.north")
    page = client.get("/cases").get_data(as_text=True)
    assert "savry-style" not in page
    row = row_of(page, fresh.reference)
    assert "Ingen bedömning än" in row and "Test cw.north" in row
    assert "Utkast" in row_of(page, drafted.reference)
    assert SAVRY_TITLE_SV in row_of(page, drafted.reference)
    assert "Inskickad" in row_of(page, waiting.reference)
    row = row_of(page, planned.reference)
    assert "Godkänd" in row and days(10).isoformat() in row and "Försenat" not in row
    row = row_of(page, due.reference)
    assert "Dags för ombedömning" in row and "Ombedömning" in row and "Försenat" in row
    assert days(-1).isoformat() in row
    row = row_of(page, sent_back.reference)
    assert 'class="returned"' in row and "Returnerad" in row
    row = row_of(page, hidden.reference)
    assert "Skyddad identitet" in row and "Gun Skyddad" not in page and "Godkänd" in row


def test_a_returned_draft_stays_marked_until_it_is_submitted_again(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    assessment = returned(world, team.owner, team.supervisor, case, "Komplettera H3.")
    assessments.save_assessment(
        world.session,
        world.vault,
        team.owner,
        case,
        assessment,
        assessments.open_content(world.session, world.vault, case, assessment),
        assessment.lock_version,
    )
    world.session.commit()
    assert assessment.state == "draft"
    login("cw.north")
    assert "Returnerad" in row_of(client.get("/cases").get_data(as_text=True), case.reference)
    assert "Returnerad" in client.get(f"/cases/{case.id}").get_data(as_text=True)


@contextmanager
def _statements(app: Flask) -> Iterator[list[str]]:
    engine = app.extensions["riskassess"].session_factory.kw["bind"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_case_list_queries_do_not_grow_with_the_rows_shown(
    app: Flask, client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    """No query per row: the same statements for a page of 2 cases and one of 12, each with
    assessments in several states, plan follow-ups and an assigned caseworker."""
    team = staff(world)
    login("sup.north")
    counts = []
    for cases in (2, 10):
        for n in range(cases):
            case = world.case(team.owner if n % 2 else team.colleague)
            approved(world, team.owner, team.supervisor, case, plan=[("Fiktiv", days(n))])
            draft(world, team.owner, case)
        client.get("/cases")  # warm: the session's own writes settle
        with _statements(app) as seen:
            response = client.get("/cases")
        assert response.status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


def test_a_large_unit_is_counted_only_so_far_and_every_page_still_reached(
    client: FlaskClient,
    world: World,
    login: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The list counts at most COUNT_AHEAD cases beyond the page's start, says "more than",
    and still leads to every page; the last pages are counted exactly again."""
    monkeypatch.setattr(listing, "COUNT_AHEAD", 2)
    monkeypatch.setattr(listing, "CASES_PER_PAGE", 1)
    team = staff(world)
    for _n in range(5):
        world.case(team.owner)
    login("cw.north")
    first = client.get("/cases").get_data(as_text=True)
    assert "Fler än 2 ärenden" in first
    assert "Sida 1</span>" in first
    assert 'rel="next"' in first
    page = client.get("/cases?page=4").get_data(as_text=True)
    assert "5 ärenden" in page  # 3 before the page + the 2 counted ahead: the whole unit
    assert "Sida 4 av 5" in page
    last = client.get("/cases?page=9").get_data(as_text=True)  # past the end: the last page
    assert "Sida 5 av 5" in last
    assert 'rel="next"' not in last


def test_an_empty_filter_is_not_an_empty_unit(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    team = staff(world)
    login("cw.north2")
    assert "Det finns inga ärenden ännu." in client.get("/cases").get_data(as_text=True)
    world.case(team.owner)
    page = client.get("/cases?scope=mine").get_data(as_text=True)
    assert "Inget ärende matchar filtret." in page
    assert "Det finns inga ärenden ännu." not in page
    page = client.get("/cases?status=closed").get_data(as_text=True)
    assert "Inget ärende matchar filtret." in page


def _assign(client: FlaskClient, case: Case, caseworker: str) -> Any:
    return client.post(
        f"/cases/{case.id}/assign",
        data={"csrf_token": csrf(client, f"/cases/{case.id}"), "caseworker": caseworker},
    )


def test_supervisor_assigns_a_case_and_it_is_audited_with_ids_only(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner, name="Hedda Tilldelad")
    case.is_protected = True
    world.session.commit()
    login("sup.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Ansvarig handläggare" in page and "Test cw.north" in page
    response = _assign(client, case, str(team.colleague.id))
    assert response.status_code == 302
    assert "Ärendet är tilldelat Test cw.north2." in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    db.rollback()
    stored = db.get(Case, case.id)
    assert stored is not None and stored.assigned_to_id == team.colleague.id
    [entry] = _audit(db, "case:case:assign")
    body = json.loads(entry.body)
    assert body["details"] == {"from": str(team.owner.id), "to": str(team.colleague.id)}
    assert entry.object_id == str(case.id)
    assert "Tilldelad" not in entry.body and "cw.north2" not in json.dumps(body["details"])
    # The protected identity now follows the new caseworker, not the old one.
    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("cw.north")
    reveal = {"csrf_token": csrf(client, f"/cases/{case.id}"), "purpose": "case_handling"}
    assert client.post(f"/cases/{case.id}/reveal", data=reveal).status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client, "/cases")})
    login("cw.north2")
    reveal = {"csrf_token": csrf(client, f"/cases/{case.id}"), "purpose": "case_handling"}
    assert "Hedda Tilldelad" in client.post(f"/cases/{case.id}/reveal", data=reveal).get_data(
        as_text=True
    )
    assert str(case.id) in client.get("/cases?scope=mine").get_data(as_text=True)


def test_a_case_goes_only_to_an_active_caseworker_of_its_unit(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    disabled = world.user("cw.north.gone", "caseworker", team.owner.unit)
    world.session.execute(update(User).where(User.id == disabled.id).values(is_enabled=False))
    world.session.commit()
    login("sup.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Test cw.north2" in page and "Test cw.south" not in page
    assert "cw.north.gone" not in page
    for candidate in (team.outsider, team.supervisor, disabled):
        response = _assign(client, case, str(candidate.id))
        assert response.status_code == 302
        followed = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Välj en aktiv handläggare i ärendets enhet." in followed
    assert _assign(client, case, "not-a-uuid").status_code == 302
    response = _assign(client, case, str(team.owner.id))
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ärendet är redan tilldelat den handläggaren." in followed
    db.rollback()
    stored = db.get(Case, case.id)
    assert stored is not None and stored.assigned_to_id == team.owner.id
    assert _audit(db, "case:case:assign") == []


def test_only_the_units_supervisors_assign(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    login("sup.south")
    token = csrf(client, "/cases")
    response = client.post(
        f"/cases/{case.id}/assign",
        data={"csrf_token": token, "caseworker": str(team.colleague.id)},
    )
    assert response.status_code == 403
    denied = [e for e in _audit(db, "case:case:assign") if e.outcome == "denied"]
    assert len(denied) == 1 and denied[0].object_id == str(case.id)
    client.post("/logout", data={"csrf_token": token})
    login("cw.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{case.id}/assign" not in page
    response = client.post(
        f"/cases/{case.id}/assign",
        data={"csrf_token": csrf(client, "/cases"), "caseworker": str(team.colleague.id)},
    )
    assert response.status_code == 403
    db.rollback()
    stored = db.get(Case, case.id)
    assert stored is not None and stored.assigned_to_id == team.owner.id


def test_review_queue_names_the_caseworker_and_the_child_unless_protected(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    team = staff(world)
    open_case = world.case(team.owner, name="Ivar Synlig")
    hidden = world.case(team.colleague, name="Jon Skyddad")
    hidden.is_protected = True
    world.session.commit()
    submitted(world, team.owner, open_case)
    submitted(world, team.colleague, hidden)
    login("sup.north")
    page = client.get("/reviews").get_data(as_text=True)
    row = row_of(page, open_case.reference)
    assert "Ivar Synlig" in row and "Test cw.north" in row and SAVRY_TITLE_SV in row
    row = row_of(page, hidden.reference)
    assert "Skyddad identitet" in row and "Test cw.north2" in row
    assert "Jon Skyddad" not in page and "savry-style" not in page
    [entry] = _audit(db, "case:assessment:list")
    shown = json.loads(entry.body)["details"]["cases"]
    assert sorted(shown) == sorted([str(open_case.id), str(hidden.id)])


def test_staff_see_instrument_titles_and_hashes_are_folded_away(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner)
    first = approved(world, team.owner, team.supervisor, case)
    login("cw.north")
    for path in (
        f"/cases/{case.id}",
        f"/assessments/{first.id}",
        f"/cases/{case.id}/compare",
        f"/assessments/{first.id}/report",
        "/instruments/savry-style/1.0",
    ):
        page = client.get(path).get_data(as_text=True)
        assert "savry-style 1.0" not in page and "savry-style version" not in page, path
    page = client.get(f"/assessments/{first.id}").get_data(as_text=True)
    assert SAVRY_TITLE_SV in page
    assert first.content_hash is not None
    folded = page.split('<details class="technical">', 1)
    assert len(folded) == 2 and first.content_hash not in folded[0]
    assert first.content_hash in folded[1] and first.instrument_hash in folded[1]
    page = client.get("/instruments/savry-style/1.0").get_data(as_text=True)
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    before, inside = page.split('<details class="technical">', 1)
    assert instrument.content_hash in inside and instrument.content_hash not in before
    assert "Var 6:e månad efter ett godkännande" in before
    # The printed report keeps the hashes on paper: its disclosure is open.
    report = client.get(f"/assessments/{first.id}/report").get_data(as_text=True)
    assert '<details class="technical" open>' in report


def test_dates_have_one_format_per_language(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    team = staff(world)
    case = world.case(team.owner, age=15)  # born on 14 January
    year = date.today().year - 15
    login("cw.north")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"<dd>{year}-01-14</dd>" in page
    client.post("/language", data={"csrf_token": csrf(client, "/cases"), "lang": "en"})
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"<dd>14 Jan {year}</dd>" in page
    assert f"{year}-01-14" not in page
