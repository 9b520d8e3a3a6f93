"""Read wapiti's JSON reports and name every finding of medium severity or higher.

Wapiti gives each vulnerability, anomaly and additional a level (wapitiCore.language.
vulnerability): 0 info, 1 low, 2 medium, 3 high, 4 critical. `make scan` fails on level 2 and
above, in all three sections of a report: an anomaly such as an internal server error (a 500
page) is as much a fault here as a vulnerability. A false positive is accepted only by an entry
in ACCEPTED that names module, category and path and says why.

    python -m scan.findings build/scan/caseworker.json build/scan/auditor.json
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

LEVELS = {0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical"}
FAIL_LEVEL = 2
SECTIONS = ("vulnerabilities", "anomalies", "additionals")


@dataclass(frozen=True)
class Finding:
    """One entry of a report, as much of it as a person needs to find it again."""

    report: str
    section: str
    category: str
    module: str
    level: int
    method: str
    path: str
    parameter: str

    def line(self) -> str:
        where = f"{self.method} {self.path}" + (f" [{self.parameter}]" if self.parameter else "")
        level = LEVELS.get(self.level, str(self.level))
        return f"{self.report}: {level} {self.module}: {self.category}: {where}"


@dataclass(frozen=True)
class Accepted:
    """A finding judged a false positive: module and category exactly, path as a regex."""

    module: str
    category: str
    path: str
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            finding.module == self.module
            and finding.category == self.category
            and re.fullmatch(self.path, finding.path) is not None
        )


# Each entry says why the finding is not a weakness of the app; keep them as narrow as possible.
ACCEPTED: tuple[Accepted, ...] = ()


class ReportError(Exception):
    """A report that is missing or not what wapiti writes: the scan cannot be judged."""


def read_findings(path: Path, label: str | None = None) -> list[Finding]:
    """Every entry of one report, whatever its level."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReportError(f"{path}: cannot read the report ({error})") from error
    if not isinstance(report, dict) or not all(
        isinstance(report.get(section), dict) for section in SECTIONS
    ):
        raise ReportError(f"{path}: not a wapiti JSON report")
    found = []
    for section in SECTIONS:
        for category, entries in report[section].items():
            for entry in entries:
                found.append(
                    Finding(
                        report=label or path.stem,
                        section=section,
                        category=category,
                        module=str(entry.get("module", "?")),
                        level=int(entry["level"]),
                        method=str(entry.get("method", "?")),
                        path=str(entry.get("path", "?")),
                        parameter=str(entry.get("parameter") or ""),
                    )
                )
    return found


def failing(
    findings: Iterable[Finding], accepted: Sequence[Accepted] = ACCEPTED
) -> Iterator[Finding]:
    """The findings at or above FAIL_LEVEL that no accepted false positive covers."""
    for finding in findings:
        if finding.level >= FAIL_LEVEL and not any(a.covers(finding) for a in accepted):
            yield finding


def main(argv: Sequence[str] | None = None) -> int:
    """Print one line per failing finding of the reports named; 1 if there is any."""
    paths = [Path(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m scan.findings REPORT.json ...", file=sys.stderr)
        return 2
    try:
        bad = [finding for path in paths for finding in failing(read_findings(path))]
    except ReportError as error:
        print(error, file=sys.stderr)
        return 2
    for finding in bad:
        print(finding.line())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
