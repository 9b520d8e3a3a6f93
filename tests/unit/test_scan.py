"""`make scan`: the report checker, the wapiti command line and the login cookie file.

The scan itself runs in `make test` after pytest (it needs a server and minutes); these tests
pin what decides its outcome: which levels fail, which modules may run, where requests go.
"""

from __future__ import annotations

import json
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any

import pytest

from scan import findings
from scan.demo_server import HOST, clean_environment, write_wapiti_cookies
from scan.findings import Accepted, ReportError, failing, read_findings
from scan.wapiti_scan import MODULES, Budget, wapiti_command

# Modules that reach outside this machine (endpoints, DNS, downloads) or test TLS remotely.
LEAVE_THE_MACHINE = {"ssrf", "xxe", "log4shell", "wapp", "htp", "nikto", "takeover", "ssl"}


def _entry(level: int, module: str, path: str, parameter: str | None = None) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": path,
        "info": "",
        "level": level,
        "parameter": parameter,
        "module": module,
    }


def _report(tmp_path: Path, name: str = "caseworker") -> Path:
    report = {
        "classifications": {},
        "vulnerabilities": {
            "SQL Injection": [_entry(4, "sql", "/cases/search", "query")],
            "Cross Site Scripting": [_entry(2, "xss", "/emergency", "reason")],
            "Content Security Policy Configuration": [_entry(1, "csp", "/login")],
        },
        "anomalies": {"Internal Server Error": [_entry(3, "exec", "/audit")]},
        "additionals": {"HTTP Methods": [_entry(0, "methods", "/")]},
        "infos": {"crawled_pages_nbr": 5},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def test_medium_and_above_fail_in_every_section(tmp_path: Path) -> None:
    found = read_findings(_report(tmp_path))
    assert len(found) == 5
    bad = [f.line() for f in failing(found, accepted=())]
    assert bad == [
        "caseworker: critical sql: SQL Injection: POST /cases/search [query]",
        "caseworker: medium xss: Cross Site Scripting: POST /emergency [reason]",
        "caseworker: high exec: Internal Server Error: POST /audit",
    ]


def test_an_accepted_false_positive_covers_only_its_module_category_and_path(
    tmp_path: Path,
) -> None:
    found = read_findings(_report(tmp_path))
    accepted = [Accepted("xss", "Cross Site Scripting", "/emergency", "why, in words")]
    assert [f.module for f in failing(found, accepted)] == ["sql", "exec"]
    elsewhere = [Accepted("xss", "Cross Site Scripting", "/emergenc", "a prefix is not a match")]
    assert [f.module for f in failing(found, elsewhere)] == ["sql", "xss", "exec"]


def test_the_checker_exits_1_on_findings_0_without_and_2_without_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert findings.main([str(_report(tmp_path))]) == 1
    assert "critical sql" in capsys.readouterr().out
    clean = tmp_path / "clean.json"
    clean.write_text(
        json.dumps({"vulnerabilities": {}, "anomalies": {}, "additionals": {}}), encoding="utf-8"
    )
    assert findings.main([str(clean)]) == 0
    assert findings.main([str(tmp_path / "missing.json")]) == 2
    clean.write_text("[]", encoding="utf-8")
    with pytest.raises(ReportError):
        read_findings(clean)


def test_no_module_that_leaves_the_machine_runs() -> None:
    modules = set(MODULES.split(","))
    assert not modules & LEAVE_THE_MACHINE
    assert {"sql", "xss", "permanentxss", "exec", "file", "csrf"} <= modules


def test_the_wapiti_command_stays_on_the_server_and_keeps_the_session(tmp_path: Path) -> None:
    base = f"http://{HOST}:8123"
    command = wapiti_command(
        Path("wapiti"), base, tmp_path / "c.json", tmp_path / "r.json", tmp_path, Budget(60, 18)
    )

    def option(name: str) -> str:
        return command[command.index(name) + 1]

    assert option("--url") == f"{base}/"
    assert option("--scope") == "folder"
    assert option("--endpoint").startswith(f"http://{HOST}:")
    assert option("--exclude") == f"{base}/logout*"
    assert option("--skip") == "csrf_token"
    assert option("--cookie") == str(tmp_path / "c.json")
    assert "--no-bugreport" in command
    anonymous = wapiti_command(
        Path("wapiti"), base, None, tmp_path / "r.json", tmp_path, Budget(60, 18)
    )
    assert "--cookie" not in anonymous


def test_the_server_and_scanner_get_no_settings_and_no_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKASSESS_DATABASE_URL", "postgresql+psycopg://prod/db")
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    env = clean_environment()
    assert not [name for name in env if name.startswith("RISKASSESS_")]
    assert not [name for name in env if name.lower().endswith("_proxy")]
    assert "PATH" in env


def test_the_login_cookie_is_written_in_wapitis_format(tmp_path: Path) -> None:
    jar = CookieJar()
    # Cookie's own argument order: version, name, value, port (and whether given), domain
    # (given, leading dot), path (given), secure, expires, discard, comment, its url, the rest.
    fields = (0, "session", "abc123", None, False, HOST, False, False, "/", True, False, None)
    jar.set_cookie(Cookie(*fields, True, None, None, {"HttpOnly": ""}))
    path = tmp_path / "cookies.json"
    write_wapiti_cookies(jar, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {
        HOST: {
            "/": {
                "session": {
                    "value": "abc123",
                    "expires": None,
                    "secure": False,
                    "port": None,
                    "version": 0,
                }
            }
        }
    }
    assert path.stat().st_mode & 0o077 == 0
