"""axe-core in the browser tests: run it on the page a test has open and say, readably, what
it found.

axe-core comes from the npm registry, pinned with its hash in tests/browser/package-lock.json
and installed by `make` (`npm ci`). It is evaluated through the DevTools protocol, which the
page's Content-Security-Policy does not govern, so the pages are checked exactly as the app
serves them, CSP included: no test context needs `bypass_csp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import skip_or_fail

AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 levels A and AA, and Deque's best practices (landmarks, one h1, headings in order).
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
# The fields of each violation that a reader needs; the rest of axe's report is left in the page.
RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return {
    passes: result.passes.length,
    violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact || "",
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
    })),
  };
}"""
# axe leaves the contrast of text in SVG charts "to review"; this measures it.
SVG_TEXT_CONTRAST_JS = Path(__file__).parent / "svg_contrast.js"


@dataclass(frozen=True)
class Violation:
    page: str  # the page's name in the test
    url: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:5]) + (" ..." if len(self.targets) > 5 else "")
        return f"{self.page} ({self.url}): {self.rule} [{self.impact}] {self.help}: {shown}"


@cache
def axe_source() -> str:
    """axe-core's script; a suite that cannot have it skips, or fails in CI."""
    if not AXE_JS.exists():
        skip_or_fail(f"axe-core is not installed ({AXE_JS}): run `make pytest`, which needs npm")
    return AXE_JS.read_text(encoding="utf-8")


@cache
def svg_contrast_source() -> str:
    """The SVG text check as a function expression (without its leading comment, so that
    Playwright calls it)."""
    lines = SVG_TEXT_CONTRAST_JS.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith("//"))


def violations(page: Page, name: str) -> list[Violation]:
    """axe's WCAG 2.1 A/AA and best-practice violations on the page as it is now, and text
    in SVG charts with too little contrast."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(RUN, list(TAGS))
    # A run that checked nothing (an empty or broken page) must not pass as clean.
    assert result["passes"] > 0, f"axe checked nothing on {name} ({page.url})"
    found = [
        Violation(name, page.url, v["id"], v["impact"], v["help"], tuple(v["targets"]))
        for v in result["violations"]
    ]
    low = page.evaluate(svg_contrast_source())
    if low:
        help_text = "Text in a chart must have a contrast ratio of at least 4.5:1 (WCAG 1.4.3)"
        found.append(
            Violation(name, page.url, "svg-text-contrast", "serious", help_text, tuple(low))
        )
    return found


def assert_accessible(page: Page, name: str) -> None:
    """Fail the test, listing what axe found, unless the page has no violation."""
    found = violations(page, name)
    if found:
        pytest.fail(report(found), pytrace=False)


def report(found: list[Violation]) -> str:
    """The violations, one a line, for an assertion message."""
    return f"{len(found)} accessibility violation(s):\n" + "\n".join(f"  {v}" for v in found)
