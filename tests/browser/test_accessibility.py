"""Every page of the main flows, in Swedish and in English, checked with axe-core (WCAG 2.1 A
and AA, and best practices) in Debian's Chromium: any violation fails the test, listed with its
rule, impact, the elements and the page.

The pages come from a seeded demo of its own (fictional people only), one per module, served
over HTTP; each test walks one role's pages in one language in one browser context, logging in
once. With RISKASSESS_SCREENSHOTS=<folder> (`make screenshots`) the walk also saves full-page
screenshots of the main pages there, for docs/screenshots; a normal run writes nothing.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from riskassess.accounts import mfa
from riskassess.accounts.models import Unit, User
from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.core.db import transaction, utcnow
from riskassess.core.keys import Vault
from riskassess.core.localtime import local_today
from riskassess.training.seed import DEMO_PASSWORD
from riskassess.web import AppState
from tests.browser.axe import Violation, axe_source, report, violations
from tests.browser.test_walkthrough import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS
from tests.conftest import make_demo_app, skip_or_fail

pytestmark = pytest.mark.browser

LANGS = ("sv", "en")
LOCALES = {"sv": "sv-SE", "en": "en-GB"}
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SAVRY = "savry-style"
VIGNETTE = ("savry-elias", "1.0")
MFA_USER = "handlaggare.b"  # has two-step login turned on in this module's demo
# The pages saved as screenshots (by name), in Swedish; a few also in English.
SCREENSHOTS = {
    "sv": {
        "login",
        "case-list",
        "new-case",
        "case-start",
        "investigation",
        "rate-first-section",
        "views",
        "judgement",
        "assessment-approved",
        "report",
        "compare",
        "follow-ups",
        "review-queue",
        "review",
        "register-extract",
        "audit-log",
        "admin-users",
        "information",
        "course",
        "course-results",
        "vignette-rate-first-section",
    },
    "en": {"login", "rate-first-section", "report"},
}
SCREENSHOT_DIR = os.environ.get("RISKASSESS_SCREENSHOTS")


@dataclass(frozen=True)
class DemoPages:
    """The demo's address and the ids of the records whose pages are checked."""

    base_url: str
    domains: tuple[str, ...]  # the SAVRY-style instrument's sections, in order
    unassessed_case: uuid.UUID  # Enhet Nord, no assessment yet: the start form
    draft: Assessment
    submitted: Assessment
    returned: Assessment
    approved: Assessment
    reassessed_case: uuid.UUID  # approved, then reassessed: the comparison
    user: uuid.UUID

    def url(self, path: str) -> str:
        return self.base_url + path


def _savry(session: Session, state: str) -> list[Assessment]:
    query = select(Assessment).where(Assessment.instrument_id == SAVRY, Assessment.state == state)
    return list(session.scalars(query))


def _find_pages(app_state: AppState) -> DemoPages:
    with transaction(app_state.session_factory) as session:
        drafts = _savry(session, "draft")
        approved = _savry(session, "approved")
        reassessed = {a.case_id for a in drafts} & {a.case_id for a in approved}
        nord = session.scalars(select(Unit.id).where(Unit.code == "nord")).one()
        assessed = select(Assessment.case_id)
        unassessed = session.scalars(
            select(Case.id).where(
                Case.unit_id == nord, Case.is_protected.is_(False), Case.id.not_in(assessed)
            )
        ).first()
        assert unassessed is not None and len(reassessed) == 1
        user_id = session.scalars(select(User.id).where(User.username == "handlaggare.a")).one()
        # Two-step login for one account, so that the code page can be reached.
        mfa_user = session.scalars(select(User).where(User.username == MFA_USER)).one()
        mfa.pending_enrolment(session, Vault(app_state.keyring), mfa_user, "QR")
        mfa_user.mfa_enrolled_dt = utcnow()
        instrument = app_state.instruments.get(SAVRY, "1.0")
        assert instrument is not None
        pages = DemoPages(
            base_url="",
            domains=tuple(d.code for d in instrument.domains),
            unassessed_case=unassessed,
            draft=next(a for a in drafts if a.case_id not in reassessed),
            submitted=_savry(session, "submitted")[0],
            returned=_savry(session, "returned")[0],
            approved=next(a for a in approved if a.case_id not in reassessed),
            reassessed_case=next(iter(reassessed)),
            user=user_id,
        )
        session.flush()
        session.expunge_all()
    return pages


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoPages]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is not installed")
    axe_source()
    app = make_demo_app(tmp_path_factory.mktemp("a11y-demo"))
    app_state: AppState = app.extensions["riskassess"]
    try:
        found = _find_pages(app_state)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield replace(found, base_url=f"http://127.0.0.1:{server.server_port}")
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    finally:
        app_state.session_factory.kw["bind"].dispose()


@pytest.fixture(scope="module")
def browser(demo: DemoPages) -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Walk:
    """One person's browser context in one language; gathers axe's findings page by page."""

    demo: DemoPages
    lang: str
    context: BrowserContext
    page: Page
    found: list[Violation] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Browser, demo: DemoPages, lang: str) -> Walk:
        context = browser.new_context(locale=LOCALES[lang], viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        walk = cls(demo, lang, context, context.new_page())
        walk.page.goto(demo.url("/login"))
        if lang != "sv":
            # The language switch in the page header, as a person would use it.
            walk.page.locator(f"button[name='lang'][value='{lang}']").click()
        expect(walk.page.locator("html")).to_have_attribute("lang", lang)
        return walk

    def log_in(self, username: str) -> None:
        self.page.goto(self.demo.url("/login"))
        self.page.locator("#username").fill(username)
        self.page.locator("#password").fill(DEMO_PASSWORD)
        self.page.locator("main form button.primary").click()
        expect(self.page).not_to_have_url(re.compile(r"/login$"))

    def check(self, name: str) -> None:
        """axe on the page as it is now; a screenshot too when one is asked for."""
        expect(self.page.locator("html")).to_have_attribute("lang", self.lang)
        self.found.extend(violations(self.page, f"{self.lang}:{name}"))
        if SCREENSHOT_DIR and name in SCREENSHOTS[self.lang]:
            folder = Path(SCREENSHOT_DIR)
            folder.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=folder / f"{self.lang}-{name}.png", full_page=True)

    def visit(self, name: str, path: str, status: int = 200) -> None:
        response = self.page.goto(self.demo.url(path))
        assert response is not None and response.status == status, (name, path)
        self.check(name)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def walks(browser: Browser, demo: DemoPages) -> Iterator[list[Walk]]:
    """The test's walks; each is closed afterwards, and their findings fail the test."""
    opened: list[Walk] = []
    yield opened
    for walk in opened:
        walk.close()


def start(walks: list[Walk], browser: Browser, demo: DemoPages, lang: str) -> Walk:
    walk = Walk.open(browser, demo, lang)
    walks.append(walk)
    return walk


def assert_clean(walks: list[Walk]) -> None:
    found = [v for walk in walks for v in walk.found]
    if found:
        pytest.fail(report(found), pytrace=False)


@pytest.mark.parametrize("lang", LANGS)
def test_login_pages(browser: Browser, demo: DemoPages, walks: list[Walk], lang: str) -> None:
    walk = start(walks, browser, demo, lang)
    walk.check("login")
    # A wrong password: the form comes back with its message.
    walk.page.locator("#username").fill("handlaggare.a")
    walk.page.locator("#password").fill("inte-losenordet")
    walk.page.locator("main form button.primary").click()
    expect(walk.page.locator("#password")).to_have_value("")
    walk.check("login-refused")
    walk.visit("not-found-anonymous", "/no-such-page", status=404)
    walk.visit("password-reset", "/password/reset")
    # The second step of a login with two-step login turned on.
    walk.log_in(MFA_USER)
    expect(walk.page).to_have_url(re.compile(r"/login/code$"))
    walk.check("login-code")
    assert_clean(walks)


@pytest.mark.parametrize("lang", LANGS)
def test_caseworker_pages(browser: Browser, demo: DemoPages, walks: list[Walk], lang: str) -> None:
    walk = start(walks, browser, demo, lang)
    walk.log_in("handlaggare.a")
    walk.visit("case-list", "/cases")
    walk.visit("new-case", "/cases/new")
    walk.page.locator("main form button.primary").click()  # empty: refused, nothing saved
    expect(walk.page.locator("main .error").first).to_be_visible()
    walk.check("new-case-refused")
    walk.visit("case-search", "/cases/search")
    walk.visit("case-start", f"/cases/{demo.unassessed_case}")
    walk.visit("case", f"/cases/{demo.draft.case_id}")
    draft = f"/assessments/{demo.draft.id}"
    walk.visit("assessment-draft", draft)
    # Submitting the unfinished draft: refused, with what is missing.
    walk.page.locator("form[action$='/submit'] button").click()
    walk.check("submit-refused")
    # The case record around the ratings: the investigation with its sources, the views.
    walk.visit("investigation", f"{draft}/investigation")
    walk.visit("views", f"{draft}/voices")
    for number, code in enumerate(demo.domains):
        name = "rate-first-section" if number == 0 else f"rate-{code}"
        walk.visit(name, f"{draft}/rate/{code}")
    walk.visit("judgement", f"{draft}/judgement")
    walk.visit("assessment-submitted", f"/assessments/{demo.submitted.id}")
    walk.visit("assessment-returned", f"/assessments/{demo.returned.id}")
    walk.visit("assessment-approved", f"/assessments/{demo.approved.id}")
    walk.visit("report", f"/assessments/{demo.approved.id}/report")
    walk.visit("compare", f"/cases/{demo.reassessed_case}/compare")
    walk.visit("follow-ups", "/follow-ups")
    walk.visit("instruments", "/instruments")
    walk.visit("instrument", f"/instruments/{SAVRY}/1.0")
    walk.visit("emergency-access", "/emergency")
    walk.visit("two-step-login", "/account/mfa")
    walk.visit("forbidden", "/audit", status=403)
    walk.visit("not-found", f"/assessments/{uuid.uuid4()}", status=404)
    assert_clean(walks)


@pytest.mark.parametrize("lang", LANGS)
def test_supervisor_pages(browser: Browser, demo: DemoPages, walks: list[Walk], lang: str) -> None:
    walk = start(walks, browser, demo, lang)
    walk.log_in("arbetsledare.a")
    walk.visit("review-queue", "/reviews")
    walk.visit("review", f"/assessments/{demo.submitted.id}")
    # A decision without the signature: refused, the message beside the field.
    walk.page.locator("input[name='decision'][value='approve']").check()
    walk.page.locator("main form button.primary").last.click()
    expect(walk.page.locator("main .error").first).to_be_visible()
    walk.check("review-refused")
    walk.visit("returned", f"/assessments/{demo.returned.id}")
    walk.visit("trained-raters", "/staff/trainings")
    walk.visit("duplicates", "/cases/duplicates")
    walk.visit("transfers", "/cases/transfers")
    walk.visit("case-access-log", f"/cases/{demo.draft.case_id}/access-log")
    # The register extract (GDPR art. 15), made from the case page as a printable page.
    walk.visit("case-of-supervisor", f"/cases/{demo.approved.case_id}")
    walk.page.locator("form[action$='/register-extract'] button").click()
    expect(walk.page).to_have_url(re.compile(r"/register-extract$"))
    walk.check("register-extract")
    walk.visit("statistics-own-unit", "/reports")
    expect(walk.page.locator("table.report-table").first).to_be_visible()
    assert_clean(walks)


@pytest.mark.parametrize("lang", LANGS)
def test_manager_pages(browser: Browser, demo: DemoPages, walks: list[Walk], lang: str) -> None:
    walk = start(walks, browser, demo, lang)
    walk.log_in("enhetschef")
    # The demo's follow-up sample fills the tables, charts and hidden counts of every state.
    walk.visit("statistics", "/reports")
    expect(walk.page.locator("table.report-table").first).to_be_visible()
    walk.page.locator("#units").select_option(label="Enhet Syd")
    walk.page.locator("form.report-filters button.primary").click()
    expect(walk.page.locator("p.report-scope")).to_contain_text("Enhet Syd")
    walk.check("statistics-one-unit")
    walk.page.locator("#date_from").fill((utcnow().date() - timedelta(days=120)).isoformat())
    walk.page.locator("form.report-filters button.primary").click()
    walk.check("statistics-shorter-period")
    walk.page.emulate_media(media="print")
    walk.check("statistics-print")
    walk.page.emulate_media(media="screen")
    walk.visit("statistics-refused-period", "/reports?date_from=2026-05-01&date_to=2026-01-01")
    walk.visit("forbidden-case-list", "/cases", status=403)
    assert_clean(walks)


@pytest.mark.parametrize("lang", LANGS)
def test_auditor_pages(browser: Browser, demo: DemoPages, walks: list[Walk], lang: str) -> None:
    # An access to sample, whatever ran before: a caseworker lists the unit's cases.
    reader = start(walks, browser, demo, lang)
    reader.log_in("handlaggare.a")
    assert reader.page.goto(demo.url("/cases")) is not None
    walk = start(walks, browser, demo, lang)
    walk.log_in("granskare")
    walk.visit("audit-log", "/audit")
    walk.visit("unusual-access", "/audit/unusual")
    walk.visit("samples", "/audit/samples")
    today = local_today().isoformat()  # the municipality's day, as the form reads it
    walk.page.locator("#date_from").fill("2020-01-01")
    walk.page.locator("#date_to").fill(today)
    walk.page.locator("#size").fill("5")
    walk.page.locator("main form button.primary").click()
    expect(walk.page).to_have_url(re.compile(r"/audit/samples/[0-9a-f-]{36}$"))
    walk.check("sample")
    assert_clean(walks)


@pytest.mark.parametrize("lang", LANGS)
def test_admin_pages(browser: Browser, demo: DemoPages, walks: list[Walk], lang: str) -> None:
    walk = start(walks, browser, demo, lang)
    walk.log_in("admin")
    walk.visit("admin-users", "/admin/users")
    walk.visit("new-user", "/admin/users/new")
    walk.visit("user", f"/admin/users/{demo.user}")
    walk.visit("units", "/admin/units")
    walk.visit("information", "/information")
    walk.visit("information-edit", "/information/edit")
    assert_clean(walks)


@pytest.mark.parametrize("lang", LANGS)
def test_course_pages(browser: Browser, demo: DemoPages, walks: list[Walk], lang: str) -> None:
    trainer = start(walks, browser, demo, lang)
    trainer.log_in("utbildare")
    trainer.visit("courses", "/courses")
    trainer.page.locator("#title").fill(f"Fiktiv kurs ({lang})")
    trainer.page.locator(f"input[name='vignettes'][value='{'@'.join(VIGNETTE)}']").check()
    trainer.page.locator("main form button.primary").click()
    expect(trainer.page).to_have_url(re.compile(r"/courses/[0-9a-f-]{36}$"))
    trainer.check("course")
    code = trainer.page.locator("p.join-code strong code").inner_text().strip()

    participant = start(walks, browser, demo, lang)
    participant.visit("join", "/join")
    participant.page.locator("#code").fill(code)
    participant.page.locator("#display_name").fill("Anna")
    participant.page.locator("main form button.primary").click()
    expect(participant.page).to_have_url(re.compile(r"/course$"))
    participant.check("my-course")
    vignette = "/course/vignettes/{}/{}".format(*VIGNETTE)
    participant.visit("vignette", vignette)
    participant.page.locator("main a.button.primary").click()
    number = 0
    while "/rate/" in participant.page.url:
        participant.check(
            "vignette-rate-first-section" if number == 0 else f"vignette-rate-{number}"
        )
        for radio in participant.page.locator("input[type=radio][name^='rating_']").all():
            participant.page.locator(f"input[name='{radio.get_attribute('name')}']").first.check()
        participant.page.locator("main form button.primary").click()
        number += 1
    expect(participant.page).to_have_url(re.compile(r"/judgement$"))
    participant.check("vignette-judgement")
    participant.page.locator("input[name='judgement_level']").first.check()
    participant.page.locator("main form button.primary").click()
    participant.page.locator(f"form[action$='{vignette}/submit'] button").click()
    participant.check("vignette-submitted")

    trainer.page.reload()
    trainer.page.locator("form[action$='/reveal'] button").click()
    expect(trainer.page.locator("table.heat-table").first).to_be_visible()
    trainer.check("course-results")
    participant.visit("vignette-feedback", f"{vignette}/feedback")
    assert_clean(walks)


def test_the_checks_find_what_they_are_for(browser: Browser, demo: DemoPages) -> None:
    """The checks are not vacuous: an image without a text alternative, an unlabelled field
    and a pale count on a pale bar are reported, by rule and element."""
    walk = Walk.open(browser, demo, "sv")
    try:
        walk.page.evaluate(
            """() => document.querySelector("main").insertAdjacentHTML("beforeend",
              '<img src="/static/none.png" id="no-alt"><input type="text" id="no-label">'
              + '<svg width="200" height="40"><rect width="200" height="40" fill="#7a9cc6"/>'
              + '<text x="100" y="25" class="svg-count" fill="#fff">4</text></svg>')"""
        )
        found = {(v.rule, v.targets[0]) for v in violations(walk.page, "broken")}
    finally:
        walk.close()
    assert ("image-alt", "#no-alt") in found
    assert ("label", "#no-label") in found
    assert any(rule == "svg-text-contrast" and '"4" 2.84:1' in t for rule, t in found)
