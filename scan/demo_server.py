"""A throwaway demo server on 127.0.0.1 for the scanner, and logins to it.

The server is `riskassess demo` with its own temporary instance folder (database, keyring,
secret), so a scan never touches the developer's demo, in an environment without any
RISKASSESS_ setting or proxy variable, so it can reach no other database and nothing else.
It serves plain http, as the demo always does; production is reached over TLS only.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from scan import processes

HOST = "127.0.0.1"
# The app ties a login session to the browser's User-Agent (Flask-Login's "strong" session
# protection), so the login here and the scanner must send the same one. It also marks the
# scan's requests in the server's log.
USER_AGENT = "riskassess-scan (wapiti)"


class ScanError(Exception):
    """The scan cannot be run or cannot be trusted; the message says why."""


def clean_environment() -> dict[str, str]:
    """This process's environment without RISKASSESS_ settings (a developer's database URL or
    keyring must not reach the scanned server) and without proxy settings (every request goes
    straight to 127.0.0.1, never through a proxy elsewhere)."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("RISKASSESS_") and not name.lower().endswith("_proxy")
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _opener(jar: CookieJar | None = None) -> urllib.request.OpenerDirector:
    # An empty ProxyHandler: never a proxy, whatever the environment says.
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    opener = urllib.request.build_opener(*handlers)
    opener.addheaders = [("User-Agent", USER_AGENT)]
    return opener


@dataclass
class DemoServer:
    """A running demo server; `log` collects its output, one line per request among it."""

    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def requests_logged(self) -> int:
        """How many requests the server has answered so far (its access log lines)."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return sum(1 for line in text.splitlines() if '" ' in line and " HTTP/1." in line)


@contextmanager
def demo_server(riskassess: Path, workdir: Path, log: Path) -> Iterator[DemoServer]:
    """Start `riskassess demo` on a free port with its instance in `workdir`; stop it on exit,
    whatever happened."""
    port = free_port()
    env = clean_environment() | {"RISKASSESS_INSTANCE_PATH": str(workdir / "instance")}
    command = [str(riskassess), "demo", "--host", HOST, "--port", str(port)]
    process = processes.start(command, log, env)
    server = DemoServer(f"http://{HOST}:{port}", process, log)
    try:
        _wait_until_serving(server, timeout=120)
        yield server
    finally:
        processes.stop(process)


def _wait_until_serving(server: DemoServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    opener = _opener()
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ScanError(f"the demo server stopped at start; see {server.log}")
        try:
            with opener.open(f"{server.base_url}/login", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise ScanError(f"the demo server did not answer within {timeout:.0f} s; see {server.log}")


class _CsrfToken(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        fields = dict(attrs)
        if tag == "input" and fields.get("name") == "csrf_token":
            self.value = fields.get("value")


def log_in(server: DemoServer, username: str, password: str, home: str) -> CookieJar:
    """Log in through the login form (CSRF token and all) and return the session's cookies;
    ScanError unless the login ends on the role's home page."""
    base_url = server.base_url
    jar = CookieJar()
    opener = _opener(jar)
    with opener.open(f"{base_url}/login", timeout=30) as response:
        parser = _CsrfToken()
        parser.feed(response.read().decode("utf-8"))
    if not parser.value:
        raise ScanError("the login page has no CSRF token")
    form = urlencode({"csrf_token": parser.value, "username": username, "password": password})
    login = f"{base_url}/login"  # http://127.0.0.1:PORT, built here
    request = urllib.request.Request(login, form.encode(), method="POST")  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            landed = urlsplit(response.geturl()).path
    except urllib.error.HTTPError as error:
        raise ScanError(f"logging in as {username} was answered {error.code}") from error
    if landed != home:
        raise ScanError(f"logging in as {username} ended on {landed}, not {home}")
    return jar


def still_logged_in(server: DemoServer, jar: CookieJar, home: str) -> bool:
    """Whether the session of `jar` still opens the role's home page (it is not logged out)."""
    try:
        with _opener(jar).open(f"{server.base_url}{home}", timeout=30) as response:
            landed = urlsplit(response.geturl()).path
            return bool(response.status == 200 and landed == home)
    except urllib.error.HTTPError:
        return False


def write_wapiti_cookies(jar: CookieJar, path: Path) -> None:
    """The session cookies in wapiti's JSON cookie format (`wapiti -c FILE`), keyed by IP."""
    cookies: dict[str, dict[str, dict[str, object]]] = {}
    for cookie in jar:
        cookies.setdefault(cookie.path, {})[cookie.name] = {
            "value": cookie.value,
            "expires": cookie.expires,
            "secure": bool(cookie.secure),
            "port": None,
            "version": 0,
        }
    if not cookies:
        raise ScanError("the login set no cookie")
    path.write_text(json.dumps({HOST: cookies}), encoding="utf-8")
    path.chmod(0o600)
