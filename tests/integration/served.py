"""People working against real gunicorn servers over HTTP, for the fleet and crash-safety
tests: a browser (one cookie jar) that may spread its requests over several servers, and the
caseworker's and supervisor's steps through the ordinary forms."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from riskassess.config import load_settings
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import load_directories
from riskassess.training.seed import fictional_personnummer
from tests.conftest import PASSWORD
from tests.integration.test_serve import Answer, Live

SAVRY = ("savry-style", "1.0")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LOCK = re.compile(r'name="lock_version"[^>]*value="(\d+)"')
ASSESSMENT_LINK = re.compile(r'href="/assessments/([0-9a-f-]{36})"')
FLASH = re.compile(r'<p class="flash [^"]*"[^>]*>([^<]*)</p>')
CONFLICT_WORDS = "Någon annan sparade"  # the Swedish edit-conflict message


def savry() -> Instrument:
    registry = load_directories(load_settings({}, mode="production").instruments_dirs)
    instrument = registry.get(*SAVRY)
    assert instrument is not None
    return instrument


# The case record's pages as a caseworker fills them in: the investigation with one source,
# and the child's and a guardian's views.
RECORD_PAGES = {
    "investigation": {
        "phase": "investigation",
        "reference": "TEST 2026/0001",
        "assessed_on": "2026-01-15",
        "sources-0-kind": "child",
        "sources-0-on": "2026-01-15",
    },
    "voices": {
        "child_view": "Fiktiv syn",
        "child_how": "meeting",
        "child_heard_on": "2026-01-15",
        "guardians_not_heard": "Fiktivt: vårdnadshavarna nåddes inte.",
    },
}


class StepFailed(AssertionError):
    """A step got an answer it should not have."""


@dataclass
class Browser:
    """One person's browser: one cookie jar; with several servers, each request goes to the
    next server in turn (a load balancer without stickiness)."""

    servers: Sequence[Live]
    cookies: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    turn: int = 0

    def _next(self) -> Live:
        live = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        live.cookies = self.cookies  # one jar whichever server answers
        return live

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        answer = self._next().request(method, path, form)
        self.statuses[answer.status] += 1
        return answer

    def login(self, username: str) -> None:
        """Password and second factor on one server: four requests, which `Live.login` checks."""
        live = self._next()
        live.login(username)
        self.statuses.update({200: 3, 302: 1})

    def page(self, path: str) -> str:
        answer = self.request("GET", path)
        if answer.status != 200:
            raise StepFailed(f"GET {path}: {answer.status}")
        return answer.text

    def post(self, path: str, form: dict[str, str], csrf_from: str | None = None) -> Answer:
        """POST `form` with the CSRF token of the page at `csrf_from` (default: `path`)."""
        found = CSRF.search(self.page(csrf_from or path))
        if not found:
            raise StepFailed(f"no CSRF token on {csrf_from or path}")
        return self.request("POST", path, {**form, "csrf_token": found.group(1)})

    def redirected(self, path: str, form: dict[str, str], csrf_from: str | None = None) -> str:
        answer = self.post(path, form, csrf_from)
        if answer.status != 302:
            raise StepFailed(f"POST {path}: {answer.status} {answer.text[:300]}")
        return answer.headers["Location"]

    # The caseworker's steps

    def create_case(self, serial: int) -> str:
        born = date(date.today().year - 14, 1 + serial // 900 % 12, 1 + serial // 30 % 28)
        pnr = fictional_personnummer(born, f"{100 + serial % 900:03d}")
        location = self.redirected(
            "/cases/new",
            {
                "name": f"Testa Fiktivdotter {serial}",
                "personnummer": pnr,
                "birth_date": born.isoformat(),
                "sex": "female",
            },
        )
        return location.rsplit("/", 1)[1]

    def start(self, case_id: str) -> str:
        location = self.redirected(
            f"/cases/{case_id}/assessments",
            {"instrument": "@".join(SAVRY)},
            csrf_from=f"/cases/{case_id}",
        )
        if "/investigation" not in location:  # refused: back to the case page, which says why
            said = FLASH.findall(self.page(location))
            raise StepFailed(f"no assessment started on {case_id}: {said}")
        return location.split("/")[2]

    def editing_form(self, path: str) -> tuple[str, int]:
        """The CSRF token and the lock version of an edit form."""
        page = self.page(path)
        token, lock = CSRF.search(page), LOCK.search(page)
        if not token or not lock:
            raise StepFailed(f"no edit form on {path}")
        return token.group(1), int(lock.group(1))

    def save_section(self, assessment_id: str, instrument: Instrument, index: int) -> Answer:
        domain = instrument.domains[index]
        path = f"/assessments/{assessment_id}/rate/{domain.code}"
        token, lock = self.editing_form(path)
        form = {"csrf_token": token, "lock_version": str(lock)}
        for item in domain.items:
            form[f"rating_{item.code}"] = "moderate" if domain.kind == "risk" else "present"
            form[f"rationale_{item.code}"] = f"Fiktiv motivering {item.code}"
        return self.request("POST", path, form)

    def judgement_form(self, assessment_id: str, reason: str) -> tuple[str, dict[str, str]]:
        path = f"/assessments/{assessment_id}/judgement"
        token, lock = self.editing_form(path)
        return path, {
            "csrf_token": token,
            "lock_version": str(lock),
            "judgement_level": "moderate",
            "judgement_reason": reason,
            "risk_kind": "violence",
            "risk_months": "6",
        }

    def save_record_page(self, assessment_id: str, page: str) -> Answer:
        """Save one page of the case record around the ratings ("investigation" or
        "voices"), filled in as a caseworker would."""
        path = f"/assessments/{assessment_id}/{page}"
        token, lock = self.editing_form(path)
        form = {"csrf_token": token, "lock_version": str(lock), **RECORD_PAGES[page]}
        return self.request("POST", path, form)

    def save_judgement(self, assessment_id: str, reason: str = "Fiktiv sammanfattning") -> Answer:
        path, form = self.judgement_form(assessment_id, reason)
        return self.request("POST", path, form)

    def submit(self, assessment_id: str) -> Answer:
        path = f"/assessments/{assessment_id}"
        return self.post(f"{path}/submit", {}, csrf_from=path)

    # The supervisor's steps

    def queue(self) -> list[str]:
        return list(dict.fromkeys(ASSESSMENT_LINK.findall(self.page("/reviews"))))

    def review(self, assessment_id: str, decision: str, comment: str = "") -> Answer:
        path = f"/assessments/{assessment_id}"
        form: dict[str, Any] = {"decision": decision, "comment": comment}
        if decision == "approve":
            form["password"] = PASSWORD
        return self.post(f"{path}/review", form, csrf_from=path)
