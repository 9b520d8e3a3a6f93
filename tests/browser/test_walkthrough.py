"""The whole walking skeleton in a real browser (Debian's Chromium, driven by Playwright).

A caseworker opens a case and rates a SAVRY-style assessment through the actual forms, submits
it, a supervisor of the same unit approves it, and a caseworker of another unit is refused the
case. The app runs on a fresh SQLite database in production mode, served by Werkzeug on a free
local port; the interface is in Swedish, its default. Along the way axe-core checks the pages
in the states only this walk reaches (just saved, refused, signed); test_accessibility.py
checks every page of the main flows, in both languages, on the demo.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright
from werkzeug.serving import make_server

from riskassess.accounts import services as accounts
from riskassess.app import create_app
from riskassess.core import migrate
from riskassess.core.audit import Actor
from riskassess.core.db import make_engine, make_session_factory, transaction
from riskassess.core.installation import claim_mode
from riskassess.instruments.definition import Instrument
from riskassess.web import AppState
from tests.browser.axe import assert_accessible, axe_source
from tests.conftest import PASSWORD, make_settings, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTRUMENT = ("savry-style", "1.0")
CHILD = "Vera Testdotter"  # fictional
PERSONNUMMER = "20120101-9823"  # fictional: serial 98xx, a girl (2), valid check digit
RATINGS = {"risk": ("low", "moderate", "high"), "protective": ("present", "absent")}
TIMEOUT_MS = 10_000
SETUP = Actor.system("browser-test-setup")
UNITS = ("nord", "syd")
# username, role, unit code
USERS = (
    ("cw.north", "caseworker", "nord"),
    ("cw.south", "caseworker", "syd"),
    ("sup.north", "supervisor", "nord"),
)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    instrument: Instrument

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def live_app(tmp_path: Path, keyring_path: Path) -> Iterator[LiveApp]:
    """A fresh production-mode database with two units and three users, served over HTTP."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is not installed")
    axe_source()
    url = f"sqlite:///{tmp_path / 'browser.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        claim_mode(session, "production")
    engine.dispose()

    app = create_app(make_settings(url, keyring_path))
    state: AppState = app.extensions["riskassess"]
    try:
        with transaction(state.session_factory) as session:
            units = {
                code: accounts.create_unit(session, SETUP, code, f"Testenhet {code}")
                for code in UNITS
            }
            for username, role, unit in USERS:
                accounts.create_user(
                    session,
                    state.passwords,
                    SETUP,
                    username=username,
                    display_name=f"Test {username}",
                    password=PASSWORD,
                    role=role,
                    unit=units[unit],
                )
        instrument = state.instruments.get(*INSTRUMENT)
        assert instrument is not None, f"instrument {INSTRUMENT} is not shipped"

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield LiveApp(f"http://127.0.0.1:{server.server_port}", instrument)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    finally:
        state.session_factory.kw["bind"].dispose()


@pytest.fixture
def page(live_app: LiveApp) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="sv-SE")
            context.set_default_timeout(TIMEOUT_MS)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def log_in(page: Page, live_app: LiveApp, username: str) -> None:
    page.goto(live_app.url("/login"))
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Logga in", exact=True).click()
    expect(page.get_by_role("button", name="Logga ut", exact=True)).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Logga ut", exact=True).click()
    expect(page.locator("#username")).to_be_visible()


def fact(page: Page, term: str) -> Locator:
    """The <dd> that follows the <dt> with exactly this text in a facts list."""
    dt = page.locator("dl.facts dt").filter(has_text=re.compile(f"^{re.escape(term)}$"))
    return dt.locator("xpath=following-sibling::dd[1]")


def test_caseworker_rates_supervisor_approves_other_unit_is_denied(
    page: Page, live_app: LiveApp
) -> None:
    # The caseworker opens a case for a fictional child.
    log_in(page, live_app, "cw.north")
    page.get_by_role("link", name="Nytt ärende").click()
    expect(page).to_have_url(live_app.url("/cases/new"))
    page.locator("#name").fill(CHILD)
    page.locator("#personnummer").fill(PERSONNUMMER)  # birth date and sex come from it
    page.get_by_role("button", name="Skapa ärende").click()

    expect(page).to_have_url(re.compile(r"/cases/[0-9a-f-]{36}$"))
    case_url = page.url
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Ärende RA-\w{7}$"))
    reference = heading.inner_text().removeprefix("Ärende ").strip()
    expect(fact(page, "Namn")).to_have_text(CHILD)
    expect(fact(page, "Personnummer")).to_have_text(PERSONNUMMER)
    expect(fact(page, "Födelsedatum")).to_have_text("2012-01-01")
    expect(fact(page, "Kön")).to_have_text("Flicka")
    assert_accessible(page, "case just created")

    # ... starts an assessment and rates every item, with a rationale for each.
    page.locator("#instrument").select_option("@".join(INSTRUMENT))
    page.get_by_role("button", name="Påbörja en ny bedömning").click()
    # The first page links the assessment to its investigation and lists its sources.
    expect(page).to_have_url(re.compile(r"/assessments/[0-9a-f-]{36}/investigation$"))
    assessment_url = page.url.removesuffix("/investigation")
    page.get_by_label("Utredning", exact=True).check()
    page.get_by_label("Utredningens diarienummer").fill("ÖVNING 2026/0042")
    page.locator("select[name='sources-0-kind']").select_option("child")
    page.locator("input[name='sources-0-on']").fill("2026-01-15")
    page.locator("select[name='sources-1-kind']").select_option("school")
    page.locator("input[name='sources-1-on']").fill("2026-01-16")
    page.get_by_role("button", name="Spara och fortsätt").click()
    expect(page).to_have_url(assessment_url + "/rate/H")
    index = 0
    for domain in live_app.instrument.domains:
        expect(page.get_by_role("heading", level=2, name=domain.title.sv)).to_be_visible()
        expect(page.locator("textarea[name^='rationale_']")).to_have_count(len(domain.items))
        for item in domain.items:
            values = RATINGS[item.scale.kind]
            page.locator(
                f"input[name='rating_{item.code}'][value='{values[index % len(values)]}']"
            ).check()
            page.locator(f"textarea[name='rationale_{item.code}']").fill(
                f"Fiktiv motivering för {item.code}."
            )
            # Sources and the critical flag are folded away until used.
            page.locator(f"#item-{item.code} details.more summary").click()
            page.locator(f"input[name='sources_{item.code}'][value='records']").check()
            index += 1
        page.get_by_role("button", name="Spara och fortsätt").click()
        expect(page.get_by_role("status").filter(has_text="Sparat.")).to_be_visible()
        if index == len(live_app.instrument.domains[0].items):
            assert_accessible(page, "rating page just saved")

    # The views of the child and the guardians follow the last domain.
    expect(page).to_have_url(assessment_url + "/voices")
    page.locator("textarea[name='child_view']").fill("Fiktiv: barnet vill byta skola.")
    page.locator("select[name='child_how']").select_option("meeting")
    page.locator("input[name='child_heard_on']").fill("2026-01-15")
    page.locator("textarea[name='guardians_not_heard']").fill("Fiktivt: har inte gått att nå.")
    page.get_by_role("button", name="Spara och fortsätt").click()

    # The judgement and plan page comes last.
    expect(page).to_have_url(assessment_url + "/judgement")
    page.locator("input[name='judgement_level'][value='moderate']").check()
    page.locator("select[name='risk_kind']").select_option("serious_violence")
    page.locator("input[name='risk_months'][value='6']").check()
    page.locator("textarea[name='judgement_reason']").fill("Fiktiv sammanfattande motivering.")
    page.locator("textarea[name='scenarios']").fill("Fiktivt scenario.")
    page.locator("input[name='plan-0-intervention']").fill("Fiktiv insats: samtalsstöd")
    page.locator("input[name='plan-0-responsible']").fill("Fiktiv handläggare")
    page.locator("fieldset.plan-row").first.locator("summary").click()
    page.locator("input[name='plan-0-factors'][value='H1']").check()
    assert_accessible(page, "judgement with a plan row open")
    page.get_by_role("button", name="Spara", exact=True).click()

    expect(page).to_have_url(assessment_url)
    expect(page.locator("p.progress")).to_contain_text("Återstår: 0")
    expect(page.locator("svg[role='img']").first).to_be_visible()
    expect(page.locator("main")).to_contain_text("Fiktiv insats: samtalsstöd")

    # ... and submits it for review.
    page.get_by_role("button", name="Skicka för granskning").click()
    expect(page.get_by_role("status").filter(has_text="Skickad för granskning.")).to_be_visible()
    expect(fact(page, "Status")).to_have_text("Inskickad")
    assert_accessible(page, "assessment just submitted")
    log_out(page)

    # A supervisor of the same unit finds it in the queue and approves it.
    log_in(page, live_app, "sup.north")
    page.get_by_role("navigation").get_by_role("link", name="Att granska").click()
    expect(page).to_have_url(live_app.url("/reviews"))
    # The caseworker is not in the register of trained raters: the queue says so.
    expect(page.locator("main")).to_contain_text("Bedömaren är inte registrerad som utbildad")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page).to_have_url(assessment_url)
    # A mistyped password: the page comes back at the form, the comment and decision kept
    # and the message beside the password field, not at the top of the long summary.
    page.get_by_role("radio", name="Godkänn", exact=True).check()
    page.get_by_label("Kommentar").fill("Fiktiv kommentar vid godkännande.")
    page.get_by_label("Ditt lösenord (signatur)").fill("inte-mitt-losenord")
    page.get_by_role("button", name="Registrera beslut").click()
    error = page.locator("#password-error")
    expect(error).to_have_text("Lösenordet var fel: bedömningen godkändes inte.")
    expect(error).to_be_in_viewport()
    expect(page.get_by_label("Kommentar")).to_have_value("Fiktiv kommentar vid godkännande.")
    expect(page.get_by_role("radio", name="Godkänn", exact=True)).to_be_checked()
    assert_accessible(page, "review refused: wrong password")
    page.get_by_label("Ditt lösenord (signatur)").fill(PASSWORD)
    page.get_by_role("button", name="Registrera beslut").click()
    expect(page.get_by_role("status").filter(has_text="godkänd och signerad")).to_be_visible()
    expect(fact(page, "Status")).to_have_text("Godkänd")
    # The checksums are folded away under "Tekniska uppgifter".
    expect(page.locator("details.technical dd.hash").last).to_be_hidden()
    page.get_by_text("Tekniska uppgifter", exact=True).click()
    expect(fact(page, "Innehållets kontrollsumma")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    assert_accessible(page, "approved and signed, technical details open")
    expect(page.get_by_role("button", name="Registrera beslut")).to_have_count(0)

    # The printed report says what was approved, by whom, with which version and hash.
    page.get_by_role("link", name="Rapport för utskrift").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bedömningsrapport")
    expect(page.locator("main")).to_contain_text("Godkänd och signerad")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.goto(assessment_url)

    # The supervisor registers the caseworker's SAVRY training for the next time.
    page.get_by_role("navigation").get_by_role("link", name="Utbildade bedömare").click()
    staff = page.locator("section.staff-member").filter(has_text="Test cw.north")
    staff.locator("summary").click()
    staff.get_by_label("Instrument").select_option("savry-style")
    staff.get_by_label("Datum för utbildningen").fill("2024-05-14")
    staff.get_by_label("Utbildning", exact=True).fill("Fiktiv SAVRY-kurs")
    staff.get_by_role("button", name="Registrera utbildningen").click()
    expect(
        page.get_by_role("status").filter(has_text="Utbildningen är registrerad.")
    ).to_be_visible()
    expect(staff.get_by_role("cell", name="Fiktiv SAVRY-kurs")).to_be_visible()
    assert_accessible(page, "training just registered")
    log_out(page)

    # A caseworker of another unit gets the refusal page, without the child's name.
    log_in(page, live_app, "cw.south")
    response = page.goto(case_url)
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Åtkomst nekad")
    expect(page.locator("main")).to_contain_text("Försöket har loggats.")
    assert CHILD not in page.content()
    assert reference not in page.content()
