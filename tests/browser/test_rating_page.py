"""The rating page in a real browser, on a reassessment: one key per rating and "unchanged,
confirm" with JavaScript, the same work done without it, and the sticky bar that never covers
the focused field. The app is the integration tests' (a fresh database per test), served over
HTTP on a free local port; the interface is in Swedish."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from riskassess.assessments import services as assessments
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from tests.browser.conftest import chromium, serving
from tests.browser.test_walkthrough import TIMEOUT_MS
from tests.conftest import PASSWORD, World
from tests.integration.casework import approved, staff

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Served:
    base_url: str
    case: Case


@pytest.fixture
def served(app: Flask, world: World) -> Iterator[Served]:
    """A case with an approved SAVRY-style assessment (every risk item Moderate, rationale
    "Fiktiv motivering"), its caseworker cw.north, and the app served over HTTP."""
    team = staff(world)
    case = world.case(team.owner)
    approved(world, team.owner, team.supervisor, case)
    with serving(app) as url:
        yield Served(url, case)


@pytest.fixture
def browser(served: Served) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _reassess(browser: Browser, served: Served, *, javascript: bool) -> Page:
    """Log in as the caseworker and start the reassessment, confirming H1 only: the first
    section's page."""
    context = browser.new_context(
        locale="sv-SE", java_script_enabled=javascript, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(served.base_url + "/login")
    page.locator("#username").fill("cw.north")
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Logga in", exact=True).click()
    expect(page.get_by_role("button", name="Logga ut", exact=True)).to_be_visible()
    page.goto(f"{served.base_url}/cases/{served.case.id}")
    offer = page.locator("section.reassess")
    offer.locator("input[name='carry'][value='H1']").check()
    offer.get_by_role("button", name="Påbörja ombedömningen").click()
    # A new draft opens at its link to the investigation; the ratings follow.
    expect(page).to_have_url(re.compile(r"/assessments/[0-9a-f-]{36}/investigation$"))
    page.goto(page.url.removesuffix("/investigation") + "/rate/H")
    return page


def _checked(page: Page, code: str) -> str | None:
    checked = page.locator(f"input[name='rating_{code}']:checked")
    return checked.get_attribute("value") if checked.count() else None


def _stored(db: Session, world: World, served: Served, page: Page, code: str) -> tuple[str, str]:
    """(rating, mark) of an item as saved."""
    found = re.search(r"/assessments/([0-9a-f-]{36})/", page.url)
    assert found
    db.rollback()
    assessment = db.get(Assessment, uuid.UUID(found.group(1)))
    assert assessment is not None
    rating = assessments.open_content(db, world.vault, served.case, assessment).rating(code)
    return rating.rating or "", rating.unchanged


def test_one_key_per_rating_and_unchanged_confirm(
    browser: Browser, served: Served, world: World, db: Session
) -> None:
    page = _reassess(browser, served, javascript=True)
    progress = page.locator(".savebar .progress")
    expect(progress).to_have_text("1 av 10 bedömda i det här avsnittet")  # H1, carried
    expect(page.locator("#rating-keys-help")).to_be_visible()
    expect(page.locator("#item-H2 label.choice").filter(has_text="Hög")).to_contain_text("2")
    assert (
        page.locator("input[name='rating_H2'][value='high']").get_attribute("aria-keyshortcuts")
        == "2"
    )

    # One key picks a rating while a choice of the item has the focus ...
    page.locator("input[name='rating_H2']").first.focus()
    page.keyboard.press("2")
    assert _checked(page, "H2") == "high"
    expect(progress).to_have_text("2 av 10 bedömda i det här avsnittet")
    page.keyboard.press("-")
    assert _checked(page, "H2") == "omitted"
    # ... the native arrow keys still move between the choices ...
    page.keyboard.press("ArrowLeft")
    assert _checked(page, "H2") == "high"
    # ... and in the rationale (after "unchanged, confirm") a digit is just text.
    page.keyboard.press("Tab")
    expect(page.get_by_label("Oförändrad, bekräfta (H2)")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("textarea[name='rationale_H2']")).to_be_focused()
    page.keyboard.type("0 tidigare domar (fiktivt)")
    expect(page.locator("textarea[name='rationale_H2']")).to_have_value(
        "0 tidigare domar (fiktivt)"
    )
    assert _checked(page, "H2") == "high"

    # "Unchanged, confirm" picks the previous rating and goes on to the note.
    page.get_by_label("Oförändrad, bekräfta (H3)").check()
    assert _checked(page, "H3") == "moderate"
    expect(page.locator("textarea[name='rationale_H3']")).to_be_focused()
    page.keyboard.type("Fiktiv kontroll: journalen genomläst, inget nytt.")
    # Another rating takes the confirmation back.
    page.get_by_label("Oförändrad, bekräfta (H4)").check()
    page.locator("#item-H4 label.choice").filter(has_text="Låg").click()
    expect(page.get_by_label("Oförändrad, bekräfta (H4)")).not_to_be_checked()

    # The sticky bar never covers the field that has the focus (WCAG 2.4.11).
    for code in ("H6", "H8", "H10"):
        page.locator(f"textarea[name='rationale_{code}']").focus()
        field = page.locator(f"textarea[name='rationale_{code}']").bounding_box()
        bar = page.locator(".savebar").bounding_box()
        assert field is not None and bar is not None
        assert field["y"] + field["height"] <= bar["y"], code

    page.get_by_role("button", name="Spara", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Sparat.")).to_be_visible()
    assert _stored(db, world, served, page, "H2") == ("high", "")
    assert _stored(db, world, served, page, "H3") == ("moderate", "confirmed")
    assert _stored(db, world, served, page, "H4") == ("low", "")


def test_the_same_work_without_javascript(
    browser: Browser, served: Served, world: World, db: Session
) -> None:
    page = _reassess(browser, served, javascript=False)
    expect(page.locator("#rating-keys-help")).to_be_hidden()
    expect(page.locator("kbd.key").first).to_be_hidden()
    page.goto(page.url.removesuffix("/H") + "/K")
    expect(page.locator(".savebar .progress")).to_have_text("0 av 6 bedömda i det här avsnittet")

    # Confirmed with the previous rationale only: refused, nothing saved.
    page.get_by_label("Oförändrad, bekräfta (K1)").check()
    page.locator("textarea[name='rationale_K1']").fill("Fiktiv motivering")
    page.get_by_role("button", name="Spara", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Ingenting sparades")).to_be_visible()
    expect(page.locator("#item-K1")).to_contain_text("Skriv vad du har kontrollerat")
    assert _stored(db, world, served, page, "K1") == ("", "")

    # A fresh note: the server sets the previous rating. Sources open without a script.
    page.locator("textarea[name='rationale_K1']").fill("Fiktiv kontroll med skolan.")
    page.locator("#item-K2 label.choice").filter(has_text="Hög").click()
    page.locator("#item-K2 details.more summary").click()
    page.get_by_label("Polis").nth(1).check()
    page.get_by_role("button", name="Spara och fortsätt").click()
    expect(page).to_have_url(re.compile(r"/rate/I$"))
    assert _stored(db, world, served, page, "K1") == ("moderate", "confirmed")
    assert _stored(db, world, served, page, "K2") == ("high", "")
    page.goto(page.url.removesuffix("/I") + "/K")
    expect(page.locator(".savebar .progress")).to_have_text("2 av 6 bedömda i det här avsnittet")
    # The folded sources open by themselves where they hold a value.
    expect(page.locator("#item-K2 details.more")).to_have_attribute("open", "")
    expect(page.locator("#item-K2 details.more summary")).to_contain_text("Polis")
