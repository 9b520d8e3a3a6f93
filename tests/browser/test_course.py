"""A course in a real browser: a trainer opens a course session in the demo, two participants
join with its code from their own browsers, rate a SAVRY-style vignette in the rating pages
and submit; the trainer sees both finished, reveals the results and gets the heat map."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from riskassess.training.seed import DEMO_PASSWORD
from tests.browser.test_walkthrough import TIMEOUT_MS

VIGNETTE = ("savry-elias", "1.0")

pytestmark = pytest.mark.browser


def new_page(browser: Browser) -> Page:
    context = browser.new_context(locale="sv-SE")
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def participant_rates(page: Page, base_url: str, code: str, name: str, level: str) -> None:
    page.goto(base_url + "/join")
    page.get_by_label("Kurskod").fill(code)
    page.get_by_label("Namn att visa").fill(name)
    page.get_by_role("button", name="Gå med").click()
    expect(page.get_by_role("main")).to_contain_text(f"Du deltar som {name}.")
    page.get_by_role("link", name=re.compile("Elias")).click()
    page.get_by_role("link", name="Skatta vinjetten").click()
    while "/rate/" in page.url:
        for radio in page.locator("input[type=radio][name^='rating_']").all():
            item = radio.get_attribute("name")
            wanted = page.locator(f"input[name='{item}'][value='{level}']")
            (wanted if wanted.count() else page.locator(f"input[name='{item}']").first).check()
        page.get_by_role("button", name="Spara och fortsätt").click()
    expect(page).to_have_url(re.compile(r"/judgement$"))
    page.locator(f"input[name='judgement_level'][value='{level}']").check()
    page.get_by_role("button", name="Spara", exact=True).click()
    page.get_by_role("button", name="Lämna in din skattning").click()
    expect(page.get_by_role("status").filter(has_text="Inlämnad.")).to_be_visible()


def test_a_trainer_and_two_participants_from_the_code_to_the_heat_map(
    browser: Browser, base_url: str
) -> None:
    trainer = new_page(browser)
    trainer.goto(base_url + "/login")
    trainer.locator("#username").fill("utbildare")
    trainer.locator("#password").fill(DEMO_PASSWORD)
    trainer.get_by_role("button", name="Logga in", exact=True).click()
    expect(trainer).to_have_url(base_url + "/courses")
    trainer.get_by_label("Kursens namn").fill("Fiktiv SAVRY-kurs")
    trainer.locator(f"input[name='vignettes'][value='{VIGNETTE[0]}@{VIGNETTE[1]}']").check()
    trainer.get_by_role("button", name="Öppna kursen").click()
    code = trainer.locator("p.join-code strong code").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{6}", code)
    course_url = trainer.url

    anna, bo = new_page(browser), new_page(browser)
    participant_rates(anna, base_url, code, "Anna", "moderate")
    participant_rates(bo, base_url, code, "Bo", "high")
    # Before the reveal Anna sees her own ratings only, and no feedback.
    anna.goto(base_url + "/course")
    expect(anna.get_by_role("main")).not_to_contain_text("Bo")
    expect(anna.get_by_role("link", name="Din återkoppling")).to_have_count(0)

    trainer.goto(course_url)
    expect(trainer.get_by_role("row", name=re.compile("Anna"))).to_contain_text("1/1")
    expect(trainer.get_by_role("row", name=re.compile("Bo"))).to_contain_text("1/1")
    trainer.get_by_role("button", name="Visa resultaten").click()
    expect(trainer.locator("svg[role='img']").first).to_be_visible()
    expect(trainer.locator("table.heat-table").first).to_be_visible()
    expect(trainer.get_by_role("main")).to_contain_text("Fleiss kappa")

    anna.goto(base_url + "/course")
    anna.get_by_role("link", name="Din återkoppling").click()
    expect(anna.get_by_role("heading", level=1)).to_contain_text("Din återkoppling")
    expect(anna.locator("table.feedback")).to_contain_text("Skäl för referensen")
