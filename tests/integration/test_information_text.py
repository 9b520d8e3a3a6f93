"""The information text for children and guardians (GDPR art. 13/14): public to read, in
Swedish and English; administrators save new versions (earlier ones kept with who and when,
each save audited); the text is plain text, escaped, never HTML."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskassess.core.audit import AuditEntry
from riskassess.rights.models import InformationText
from tests.conftest import World, csrf

EDIT = "/information/edit"


@pytest.fixture
def admin(world: World, login: Callable[[str], None]) -> None:
    world.user("admin", "admin", None)
    login("admin")


def _save(client: FlaskClient, sv: str, en: str, based_on: str) -> object:
    return client.post(
        EDIT,
        data={
            "csrf_token": csrf(client, EDIT),
            "body_sv": sv,
            "body_en": en,
            "based_on": based_on,
        },
    )


def _versions(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(InformationText)) or 0


def test_the_default_text_is_public_in_both_languages(client: FlaskClient) -> None:
    page = client.get("/information")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert (
        "Integritetsskyddsmyndigheten" in body and "[dataskyddsombudets kontaktuppgifter]" in body
    )
    assert "2001:454" in body and "6.1 e" in body and "5, 15 eller 25" in body
    assert "registerutdrag" in body
    client.post("/language", data={"csrf_token": csrf(client, "/login"), "lang": "en"})
    english = client.get("/information").get_data(as_text=True)
    assert "Swedish Authority for Privacy Protection (IMY)" in english
    assert "[contact details of the data protection officer]" in english


def test_an_administrator_saves_versions_that_are_kept_and_audited(
    admin: None, client: FlaskClient, db: Session
) -> None:
    first = _save(client, "Första stycket.\n\nAndra stycket\nmed två rader.", "First.", "")
    assert first.status_code == 302 and _versions(db) == 1
    page = client.get("/information").get_data(as_text=True)
    assert "<p>Första stycket.</p>" in page
    assert "<p>Andra stycket<br>med två rader.</p>" in page
    second = _save(client, "Ny text.", "New text.", "1")
    assert second.status_code == 302 and _versions(db) == 2
    assert "Ny text." in client.get("/information").get_data(as_text=True)
    editor = client.get(EDIT).get_data(as_text=True)
    assert "Version 2" in editor and "Version 1" in editor and "Test admin" in editor
    old = client.get("/information/versions/1").get_data(as_text=True)
    assert "Första stycket." in old and "First." in old
    assert client.get("/information/versions/9").status_code == 404
    db.rollback()
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "admin:information_text:update")
    ).all()
    assert [e.object_id for e in entries] == ["1", "2"]
    assert all("Ny text" not in e.body and "Första" not in e.body for e in entries)


def test_a_stale_editor_or_an_empty_language_saves_nothing(
    admin: None, client: FlaskClient, db: Session
) -> None:
    assert _save(client, "Ett.", "One.", "").status_code == 302
    stale = _save(client, "Två.", "Two.", "")  # started from the default text, now version 1
    assert stale.status_code == 200 and "under tiden" in stale.get_data(as_text=True)
    empty = _save(client, "Tre.", "   ", "1")
    assert empty.status_code == 200 and _versions(db) == 1
    unchanged = _save(client, "Ett.", "One.", "1")
    assert "Ingenting ändrades" in unchanged.get_data(as_text=True) and _versions(db) == 1
    too_long = _save(client, "x" * 20_001, "One.", "1")
    assert too_long.status_code == 200 and _versions(db) == 1


def test_markup_is_shown_as_text_never_run(admin: None, client: FlaskClient) -> None:
    attack = '<script>alert(1)</script> <a href="javascript:x">länk</a> & {{ 7*7 }}'
    assert _save(client, attack, attack, "").status_code == 302
    for path in ("/information", "/information/versions/1", EDIT):
        body = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body
        assert '<a href="javascript:x">' not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "{{ 7*7 }}" in body  # a template expression stays text


@pytest.mark.parametrize("username,role", [("sup.north", "supervisor"), ("cw.north", "caseworker")])
def test_only_administrators_edit(
    username: str,
    role: str,
    world: World,
    client: FlaskClient,
    db: Session,
    login: Callable[[str], None],
) -> None:
    world.user(username, role, world.unit("nord"))
    login(username)
    assert client.get(EDIT).status_code == 403
    refused = client.post(
        EDIT,
        data={"csrf_token": csrf(client, "/information"), "body_sv": "X", "body_en": "Y"},
    )
    assert refused.status_code == 403 and _versions(db) == 0
    assert "/information/edit" not in client.get("/information").get_data(as_text=True)
