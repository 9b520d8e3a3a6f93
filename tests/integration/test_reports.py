"""Follow-up statistics, checked against a hand-made data set whose answers were worked out by
hand, with small counts hidden and the hidden ones impossible to work out.

The data set: SAVRY-style assessments approved today.
- Enhet nord, twelve girls: judgement low 5, moderate 6, high 1.
- Enhet syd, twelve boys: low 7, moderate 0, high 5.
- Not counted: an approved assessment of nord from two years ago (outside the period), and a
  draft in syd.

By unit, as the manager sees it, before suppression:

           low  moderate  high | total
    nord     5         6     1 |    12
    syd      7         0     5 |    12
    total   12         6     6 |    24

By sex it is the same table (nord's children are girls, syd's boys), and the two are protected
together. Row totals (group sizes) are public. A reader knows a small count lies from 1 to 4
and any other hidden count is at least 5. Hiding only the 1 gives it away (12 - 5 - 6). A
cycle that moves it by one must stay inside nord's fixed total: not through nord-low (5 - 1 =
4 would be small) but nord-moderate (6); and out of the high column: not through syd-high
(5 - 1) but the high total, which the sex table shares; there it runs through the girls'
high and moderate (the girls' total is fixed too) and back by the moderate total. So, in
both tables:

           low  moderate  high | total
    nord     5         x    <5 |    12
    syd      7         0     5 |    12
    total   12         x     x |    24

and the 1 can still be 1 or 2 (nord: 5 + x + <5 = 12, x at least 5).

The child's view: in nord ten children were heard and two could not be (a reason given); in
syd all twelve were heard. The 2 and its column total 2 are small; the only cycle through them
runs through nord's heard (10), the heard total (22) and the girls' heard and not heard. So:
nord x, <5, 0 | 12; syd 12, 0, 0 | 12; total x, <5, 0 | 24, the same by sex, and the 2 can be
anything from 1 to 4 (x = 12 - it).

A supervisor of nord sees nord only: the high total is then 1 itself, small, and the same
cycle hides moderate and its total.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from riskassess.accounts.models import User
from riskassess.assessments import services as assessments
from riskassess.assessments.bbic import HeardView
from riskassess.assessments.content import Content, ItemRating
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.core.audit import AuditEntry, entry_fields
from riskassess.reports import facts
from riskassess.reports.models import AssessmentFact
from riskassess.reports.services import rebuild_facts
from tests.conftest import PASSWORD, TEST_ACTOR, World, csrf
from tests.integration.casework import with_record

SAVRY = ("savry-style", "1.0")
TODAY = datetime.now(UTC).date()
FIRST, LAST = TODAY - timedelta(days=30), TODAY + timedelta(days=1)
PERIOD = f"date_from={FIRST}&date_to={LAST}&instrument=savry-style@1.0"
NORD = ["low"] * 5 + ["moderate"] * 6 + ["high"]
SYD = ["low"] * 7 + ["high"] * 5


def _assess(
    world: World,
    owner: User,
    boss: User,
    case: Case,
    level: str,
    approve: bool,
    child_heard: bool = True,
) -> Assessment:
    instrument = world.registry.get(*SAVRY)
    assert instrument is not None
    session, vault = world.session, world.vault
    assessment = assessments.start_assessment(session, vault, owner, case, instrument)
    items = {
        item.code: ItemRating(item.scale.levels[0].code, "Fiktiv") for item in instrument.items
    }
    content = with_record(Content(items, level, "Fiktiv"))
    content.rule_reasons = {rule.id: "Fiktiv" for rule in instrument.rules}
    if not child_heard:
        unheard = "Fiktivt: ville inte träffas."
        content.voices = replace(content.voices, child=HeardView(), child_not_heard=unheard)
    assessments.save_assessment(session, vault, owner, case, assessment, content, 1)
    if approve:
        assessments.submit_assessment(session, vault, owner, case, assessment, instrument)
        assessments.approve_assessment(
            session, vault, world.passwords, boss, case, assessment, instrument, "", PASSWORD
        )
    session.commit()
    return assessment


def _arrange(world: World) -> None:
    nord, syd = world.unit("nord"), world.unit("syd")
    cw_nord = world.user("cw.nord", "caseworker", nord)
    cw_syd = world.user("cw.syd", "caseworker", syd)
    sup_nord = world.user("sup.nord", "supervisor", nord)
    sup_syd = world.user("sup.syd", "supervisor", syd)
    world.user("chef", "manager", None)
    for n, level in enumerate(NORD):
        girl = world.case(cw_nord, sex="female")
        _assess(world, cw_nord, sup_nord, girl, level, True, child_heard=n < 10)
    for level in SYD:
        _assess(world, cw_syd, sup_syd, world.case(cw_syd, sex="male"), level, True)
    old = _assess(world, cw_nord, sup_nord, world.case(cw_nord, sex="female"), "high", True)
    long_ago = datetime.now(UTC) - timedelta(days=730)
    world.session.execute(
        update(Assessment).where(Assessment.id == old.id).values(decided_dt=long_ago)
    )
    # Its fact written again from the moved date, as a rebuild writes it.
    counted = world.session.scalars(
        select(AssessmentFact).where(AssessmentFact.assessment_id == old.id)
    )
    facts.forget_facts(world.session, world.vault, counted)
    rebuild_facts(world.session, world.vault, TEST_ACTOR, world.instrument_of)
    _assess(world, cw_syd, sup_syd, world.case(cw_syd, sex="male"), "high", False)
    world.session.commit()


def _cells(page: str, caption: str) -> list[list[str]]:
    """The table with this caption as text, header row and shares left out, row labels kept."""
    table = page[page.index(f"<caption>{caption}</caption>") :]
    table = re.sub(r'<span class="share">.*?</span>', "", table[: table.index("</table>")])
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    cell = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", flags=re.S)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cell.findall(row)]
        for row in rows
    ]


def test_the_manager_sees_every_unit_with_small_counts_protected(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _arrange(world)
    login("chef")
    page = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    assert _cells(page, "Sammanfattande bedömning per enhet") == [
        ["Testenhet nord", "5", "x", "<5", "12"],
        ["Testenhet syd", "7", "0", "5", "12"],
        ["Totalt", "12", "x", "x", "24"],
    ]
    assert _cells(page, "Sammanfattande bedömning per kön") == [
        ["Flickor", "5", "x", "<5", "12"],
        ["Pojkar", "7", "0", "5", "12"],
        ["Totalt", "12", "x", "x", "24"],
    ]
    assert _cells(page, "Bedömningar och ombedömningar per enhet") == [
        ["Testenhet nord", "12", "0", "12"],
        ["Testenhet syd", "12", "0", "12"],
        ["Totalt", "24", "0", "24"],
    ]
    assert _cells(page, "Barnets egen syn per enhet") == [
        ["Testenhet nord", "x", "<5", "0", "12"],
        ["Testenhet syd", "12", "0", "0", "12"],
        ["Totalt", "x", "<5", "0", "24"],
    ]
    assert _cells(page, "Barnets egen syn per kön") == [
        ["Flickor", "x", "<5", "0", "12"],
        ["Pojkar", "12", "0", "0", "12"],
        ["Totalt", "x", "<5", "0", "24"],
    ]
    # A share beside every count shown, of its row: 5 of nord's 12 judged low.
    assert '5 <span class="share">(42&nbsp;%)</span>' in page
    # Nothing leads to a case.
    assert "/cases/" not in page and "/assessments/" not in page
    [entry] = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "report:statistics:read")
    ).all()
    details = entry_fields(entry.body)["details"]
    assert details["instrument"] == "savry-style" and details["units"] == 2


def test_a_supervisor_sees_the_own_unit_only(
    client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    _arrange(world)
    login("sup.nord")
    page = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    assert _cells(page, "Sammanfattande bedömning per enhet") == [
        ["Testenhet nord", "5", "x", "<5", "12"],
        ["Totalt", "5", "x", "<5", "12"],
    ]
    assert "Testenhet syd" not in page


def test_the_csv_holds_the_same_hidden_counts_and_is_audited(
    client: FlaskClient, world: World, db: Session, login: Callable[[str], None]
) -> None:
    _arrange(world)
    login("chef")
    form = {
        "csrf_token": csrf(client, "/reports"),
        "date_from": FIRST.isoformat(),
        "date_to": LAST.isoformat(),
        "instrument": "savry-style@1.0",
    }
    response = client.post("/reports.csv", data=form)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    lines = response.get_data(as_text=True).splitlines()
    unit_table = "Sammanfattande bedömning per enhet"
    # For Swedish spreadsheets: a byte-order mark, then semicolons.
    assert lines[0] == "\ufeffTabell;Rad;Kolumn;Antal"
    assert f"{unit_table};Testenhet nord;Hög;<5" in lines
    assert f"{unit_table};Testenhet nord;Medel;x" in lines
    assert f"{unit_table};Totalt;Totalt;24" in lines
    assert db.scalars(
        select(AuditEntry).where(AuditEntry.action == "report:statistics:export")
    ).all()


def test_bad_filters_are_explained_and_nobody_else_sees_numbers(
    app: object, client: FlaskClient, world: World, login: Callable[[str], None]
) -> None:
    _arrange(world)
    login("chef")
    page = client.get("/reports?date_from=2026-05-01&date_to=2026-04-01&instrument=savry-style@1.0")
    assert page.status_code == 200
    assert "Perioden slutar innan den börjar." in page.get_data(as_text=True)
    assert "<caption>" not in page.get_data(as_text=True)
    odd = client.get("/reports?date_from=x&date_to=2026-04-01&instrument=nope")
    assert odd.status_code == 200 and "<caption>" not in odd.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(client, "/reports")})
    login("cw.nord")
    assert client.get("/reports").status_code == 403
