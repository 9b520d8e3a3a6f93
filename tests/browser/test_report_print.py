"""The report printed by a real browser: the running header and "page N of M" are drawn in
the page margins (@page margin boxes), so only the PDF shows them. The PDF's text is read with
`pdftotext` (Debian's poppler-utils)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from riskassess.assessments.models import Assessment
from riskassess.cases.models import Case
from riskassess.training.seed import DEMO_PASSWORD
from tests.browser.test_course import new_page
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.browser

CHILD = "Sam Påhittad"  # the demo's fictional child with an approved SAVRY-style assessment


def _pdf_pages(page: Page, path: Path) -> list[str]:
    """Print the page as the browser prints it, and return the text of each PDF page."""
    page.pdf(path=str(path), format="A4")
    tool = shutil.which("pdftotext")
    if tool is None:
        skip_or_fail("pdftotext (poppler-utils) is not installed")
        raise AssertionError  # not reached: skip_or_fail raises
    done = subprocess.run(  # a fixed tool on a file this test wrote  # nosec B603
        [tool, "-layout", str(path), "-"], capture_output=True, check=True, text=True
    )
    # Each page ends with a form feed; the layout's line breaks and runs of spaces are not
    # the report's, so words are joined by single spaces.
    return [" ".join(text.split()) for text in done.stdout.split("\f")[:-1]]


def _log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Logga in", exact=True).click()
    expect(page.get_by_role("button", name="Logga ut", exact=True)).to_be_visible()


def _approved_report(demo_db: Session) -> tuple[str, str]:
    """The path of the approved SAVRY-style report of the demo's training case (Sam's: the
    only case with one assessment, approved at seeding; the follow-up sample's are dated
    earlier), and its case number."""
    others = aliased(Assessment)
    row = demo_db.execute(
        select(Assessment.id, Case.reference)
        .join(Case, Case.id == Assessment.case_id)
        .where(
            Assessment.state == "approved",
            Assessment.instrument_id == "savry-style",
            ~exists().where(others.case_id == Assessment.case_id, others.id != Assessment.id),
        )
        .order_by(Assessment.created_dt.desc())
    ).first()
    assert row is not None, "the demo has an approved SAVRY-style assessment"
    return f"/assessments/{row.id}/report", row.reference


def test_printed_report_has_running_header_page_numbers_and_legend(
    browser: Browser, base_url: str, demo_db: Session, tmp_path: Path
) -> None:
    path, reference = _approved_report(demo_db)
    page = new_page(browser)
    _log_in(page, base_url, "arbetsledare.a")
    page.goto(base_url + path)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bedömningsrapport")
    # On screen: the samlad bedömning beside the report, labelled, ready to copy.
    box = page.get_by_label("Text att klistra in i utredningen")
    expect(box).to_have_attribute("readonly", "")
    expect(box).to_have_value(re.compile(r"^Strukturerad bedömning gjord med:\n"))
    expect(page.locator(".legend")).to_contain_text("Teckenförklaring")

    pages = _pdf_pages(page, tmp_path / "sv.pdf")
    count = len(pages)
    assert count >= 2
    for number, text in enumerate(pages, start=1):
        assert f"Ärende {reference}" in text, f"no running header on page {number}"
        assert "version 1.0" in text and "OVERIFIERAD INSTRUMENTFIL" in text
        assert f"Sida {number} av {count}" in text
        assert "Utskriven " in text
    printed = "\n".join(pages)
    assert CHILD in printed  # an unprotected identity is printed
    assert "Teckenförklaring: stapelns delar" in printed  # the legend prints as text
    assert "Text att klistra in" not in printed  # the text to paste stays on screen
    assert "Tillbaka till bedömningen" not in printed
    assert "Forskningsindex" not in printed  # left off unless asked for

    # In English, the same report with the research index asked for.
    page.goto(base_url + "/cases")
    page.get_by_role("button", name="English", exact=True).click()
    expect(page.get_by_role("button", name="Svenska", exact=True)).to_be_visible()
    page.goto(base_url + path)
    page.get_by_label("Include the research index").check()
    page.get_by_role("button", name="Update the report").click()
    expect(page).to_have_url(re.compile(r"/report\?research=1$"))
    pages = _pdf_pages(page, tmp_path / "en.pdf")
    assert f"Page 1 of {len(pages)}" in pages[0] and f"Case {reference}" in pages[0]
    assert "UNVERIFIED INSTRUMENT FILE" in pages[-1]
    printed = "\n".join(pages)
    assert "Research index" in printed and "Legend: the parts of a bar" in printed
