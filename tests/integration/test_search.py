"""Search by personnummer: through the blind index, by POST only, within the user's own unit,
audited without the number, and saying nothing about other units."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import luhn

from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.core.audit import AuditEntry
from tests.conftest import World, csrf

NAME = "Sökbara Indexdotter"  # fictional
PNR = "20120101-9815"  # fictional: serial 98xx


def _search(client: FlaskClient, number: str) -> str:
    response = client.post(
        "/cases/search",
        data={"csrf_token": csrf(client, "/cases/search"), "personnummer": number},
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _searches(db: Session) -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == "case:case:search")))


def _without_token(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", html)


def test_search_finds_the_case_of_ones_own_unit_in_any_written_form(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    unit = world.unit("nord")
    owner = world.user("cw.north", "caseworker", unit)
    normalized, born = normalize_personnummer(PNR)
    case = cases.create_case(
        world.session, world.vault, owner, cases.Identity(NAME, normalized, born, "female")
    )
    world.session.commit()
    login("cw.north")
    for written in ("20120101-9815", "201201019815", "120101-9815", " 1201019815 "):
        page = _search(client, written)
        assert f'href="/cases/{case.id}"' in page and case.reference in page
        # The number is not echoed back, and the result shows no identity.
        assert "9815" not in page and NAME not in page
    entries = _searches(db)
    assert len(entries) == 4 and all(e.outcome == "success" for e in entries)
    for entry in entries:
        assert str(case.id) in entry.body
        assert "9815" not in entry.body and case.pnr_index not in entry.body


def test_a_case_in_another_unit_is_indistinguishable_from_no_case(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    north, south = world.unit("nord"), world.unit("syd")
    owner = world.user("cw.north", "caseworker", north)
    world.user("cw.south", "caseworker", south)
    normalized, born = normalize_personnummer(PNR)
    cases.create_case(
        world.session, world.vault, owner, cases.Identity(NAME, normalized, born, "female")
    )
    world.session.commit()
    login("cw.south")
    elsewhere = _search(client, PNR)
    nowhere = _search(client, "20120101-9823")  # valid, and no case anywhere
    assert 'id="result-heading"' in elsewhere and "/cases/" not in elsewhere.split("<main")[1]
    assert _without_token(elsewhere) == _without_token(nowhere)
    assert all('"cases":[]' in e.body for e in _searches(db))


def test_coordination_number_cases_are_found(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    body = "1201619810"[:9]
    number = f"20{body[:6]}-{body[6:]}{luhn.calc_check_digit(body)}"
    normalized, born = normalize_personnummer(number)
    assert born == date(2012, 1, 1)
    case = cases.create_case(
        world.session, world.vault, owner, cases.Identity(NAME, normalized, born, "male")
    )
    world.session.commit()
    login("cw.north")
    assert case.reference in _search(client, number[2:])
    assert case.reference not in _search(client, PNR)  # the person number of the same day


def test_bad_input_is_refused_in_swedish_and_nothing_is_searched(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    world.user("cw.north", "caseworker", world.unit("nord"))
    login("cw.north")
    page = _search(client, "20120101-9817")
    assert "Ogiltigt personnummer" in page
    assert _searches(db) == []


def test_a_number_in_the_url_is_never_used(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    world.user("cw.north", "caseworker", world.unit("nord"))
    login("cw.north")
    response = client.get(f"/cases/search?personnummer={PNR}")
    assert response.status_code == 200
    assert 'id="result-heading"' not in response.get_data(as_text=True)
    assert _searches(db) == []
