"""`riskassess serve` and `gunicorn riskassess.wsgi:app` as an operator runs them: a real
gunicorn on a free local port, on SQLite and on PostgreSQL. Health checks, a login and a
search over HTTP, JSON log lines without personal data, /readyz failing while the database is
unreachable or the keyring wrong, and unsafe settings refused in one line."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from riskassess.cases import services as cases
from riskassess.cases.identity import normalize_personnummer
from riskassess.core import migrate
from riskassess.core.crypto import Keyring
from riskassess.core.keys import Vault
from tests.conftest import (
    MFA_KEY_ON_PAGE,
    PASSWORD,
    World,
    claim_database,
    drop_postgres_schema,
    postgres_schema_url,
    totp_code,
)

PNR = "20120101-9815"  # fictional, valid check digit
PNR_FORMS = (PNR, PNR.replace("-", ""), PNR[2:], PNR[2:].replace("-", ""))
GUNICORN = Path(sys.executable).with_name("gunicorn")
START_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database_url: str, keyring: Path, instance: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RISKASSESS_", "GUNICORN_")) and k != "FLASK_DEBUG"
    }
    env.update(
        {
            "RISKASSESS_MODE": "production",
            "RISKASSESS_DATABASE_URL": database_url,
            "RISKASSESS_KEYRING": str(keyring),
            "RISKASSESS_SECRET_KEY": secrets.token_urlsafe(48),
            "RISKASSESS_INSTANCE_PATH": str(instance),
            "RISKASSESS_AUDIT_CHECKPOINT_EVERY": "0",
            "RISKASSESS_WORKERS": "2",
            "RISKASSESS_THREADS": "2",
            "HOME": str(instance),  # whatever gunicorn might put there stays in the test
        }
    )
    env.update(extra)
    return env


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    cookies: dict[str, str] = field(default_factory=dict)

    def json(self) -> object:
        return json.loads(self.text)


@dataclass
class Live:
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = None if form is None else urlencode(form)
        sent = dict(headers)
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    cookie_name, _, rest = value.partition("=")
                    self.cookies[cookie_name] = rest.split(";", 1)[0]
            return Answer(response.status, dict(response.getheaders()), text)
        finally:
            connection.close()

    def csrf(self, path: str) -> str:
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.request("GET", path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str) -> None:
        """Password, then (production requires it) setting up the second factor."""
        token = self.csrf("/login")
        answer = self.request(
            "POST", "/login", {"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status == 302 and answer.headers["Location"] == "/login/setup", answer.text
        page = self.request("GET", "/login/setup").text
        key = MFA_KEY_ON_PAGE.search(page)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert key and token
        form = {"code": totp_code(key.group(1)), "csrf_token": token.group(1)}
        assert self.request("POST", "/login/setup", form).status == 200

    def lines(self) -> list[dict[str, object]]:
        text = self.log.read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Live]:
    """Start a server, wait until /healthz answers, and stop it (TERM) afterwards."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
    live = Live(port, process, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited {process.returncode}:\n{log.read_text()}")
            with suppress(OSError):
                if live.request("GET", "/healthz").status == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not answer:\n{log.read_text()}")
            time.sleep(0.2)
        yield live
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert process.returncode == 0, log.read_text()


def _serve(port: int) -> list[str]:
    return [sys.executable, "-m", "riskassess.cli", "serve", "--bind", f"127.0.0.1:{port}"]


def test_serve_answers_health_checks_a_login_and_a_search_and_logs_json(
    database_url: str,
    keyring_path: Path,
    world: World,
    db: Session,
    vault: Vault,
    tmp_path: Path,
) -> None:
    owner = world.user("cw.north", "caseworker", world.unit("nord"))
    normalized, born = normalize_personnummer(PNR)
    case = cases.create_case(
        db, vault, owner, cases.Identity("Testa Fiktivdotter", normalized, born, "female")
    )
    db.commit()
    port = _free_port()
    env = _environment(database_url, keyring_path, tmp_path)
    with serving(_serve(port), env, port, tmp_path / "serve.log") as live:
        assert live.request("GET", "/healthz").json() == {"status": "alive"}
        ready = live.request("GET", "/readyz")
        assert ready.status == 200 and ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "keyring": "ok", "instruments": "ok"},
        }
        assert not live.cookies  # neither check opened a session
        live.login("cw.north")
        listing = live.request("GET", f"/cases?pnr={PNR}")
        assert listing.status == 200 and case.reference in listing.text
        token = live.csrf("/cases/search")
        found = live.request("POST", "/cases/search", {"csrf_token": token, "personnummer": PNR})
        assert found.status == 200 and case.reference in found.text
    lines = live.lines()  # every line of the server's output is JSON
    booted = [line for line in lines if str(line["msg"]).startswith("Booting worker")]
    assert len(booted) == 2
    requests = [line for line in lines if line["logger"] == "riskassess.requests"]
    by_route = {(line["method"], line["route"]): line for line in requests}
    assert by_route[("GET", "/readyz")]["user_id"] is None
    search = by_route[("POST", "/cases/search")]
    assert search["user_id"] == str(owner.id) and search["status"] == 200
    assert by_route[("GET", "/cases")]["user_id"] == str(owner.id)
    for line in requests:
        assert set(line) >= {"request_id", "method", "route", "status", "duration_ms"}
    output = live.log.read_text()
    assert "?pnr" not in output
    for form in PNR_FORMS:
        assert form not in output


class TcpProxy:
    """A TCP relay to the database that the test can cut and restore: an unreachable server
    for the app, without touching the real one."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        assert self.listener is not None
        with suppress(OSError):  # wakes the accepting thread (close alone would not)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for each in self.open:
            with suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()
        self.open.clear()


@pytest.fixture
def private_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own (moved, cut off), of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'served.sqlite'}"
        migrate.upgrade(url)
        claim_database(url)
        yield url
        return
    base = os.environ["RISKASSESS_TEST_POSTGRES_URL"]
    url, schema = postgres_schema_url(base)
    try:
        migrate.upgrade(url)
        claim_database(url)
        yield url
    finally:
        drop_postgres_schema(base, schema)


def test_readyz_fails_while_the_database_is_unreachable_or_the_keyring_wrong(
    private_database: str, keyring_path: Path, tmp_path: Path
) -> None:
    keyring = tmp_path / "keyring.json"
    keyring.write_bytes(keyring_path.read_bytes())
    keyring.chmod(0o600)
    url, proxy = private_database, None
    if not url.startswith("sqlite"):
        real = make_url(url)
        proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
        proxy.start()
        url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    port = _free_port()
    env = _environment(url, keyring, tmp_path, RISKASSESS_WORKERS="1")
    everything = {"database": "ok", "keyring": "ok", "instruments": "ok"}
    with serving(_serve(port), env, port, tmp_path / "serve.log") as live:
        assert live.request("GET", "/readyz").status == 200
        # The database goes away: the SQLite file is moved, PostgreSQL's connection is cut.
        if proxy is None:
            path = Path(make_url(url).database or "")
            path.rename(tmp_path / "elsewhere.sqlite")
        else:
            proxy.cut()
        unreachable = live.request("GET", "/readyz")
        assert unreachable.status == 503
        assert unreachable.json() == {
            "status": "unready",
            "checks": {**everything, "database": "fail"},
        }
        assert live.request("GET", "/healthz").status == 200  # alive all the same
        if proxy is None:
            (tmp_path / "elsewhere.sqlite").rename(path)
        else:
            proxy.start()
        assert live.request("GET", "/readyz").status == 200  # back by itself
        # Another installation's keyring is copied over this one's.
        keyring.unlink()
        Keyring.generate().save_new(keyring)
        wrong = live.request("GET", "/readyz")
        assert wrong.status == 503
        assert wrong.json() == {"status": "unready", "checks": {**everything, "keyring": "fail"}}
    output = live.log.read_text()
    assert "Readiness check database failed" in output
    assert "Readiness check keyring failed" in output
    if proxy is not None:
        proxy.cut()


def test_plain_gunicorn_serves_the_wsgi_module(
    database_url: str, keyring_path: Path, tmp_path: Path
) -> None:
    port = _free_port()
    env = _environment(database_url, keyring_path, tmp_path)
    command = [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--no-control-socket", "riskassess.wsgi:app"]
    with serving(command, env, port, tmp_path / "gunicorn.log") as live:
        assert live.request("GET", "/readyz").status == 200
        answer = live.request("GET", "/healthz", **{"X-Request-ID": "lb-probe-0001"})
        assert answer.headers["X-Request-ID"] == "lb-probe-0001"
    app_lines = [
        json.loads(line) for line in live.log.read_text().splitlines() if line.startswith("{")
    ]
    probe = [line for line in app_lines if line.get("request_id") == "lb-probe-0001"]
    assert [(line["route"], line["status"]) for line in probe] == [("/healthz", 200)]


def _refusal(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "riskassess.cli", "serve", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_serve_refuses_unsafe_settings_in_one_line(
    database_url: str, keyring_path: Path, tmp_path: Path
) -> None:
    env = _environment(database_url, keyring_path, tmp_path)
    demo_db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    migrate.upgrade(demo_db)
    claim_database(demo_db, "demo")
    cases_ = [
        ({"RISKASSESS_DEBUG": "1"}, "Debug mode cannot be used in production"),
        ({"FLASK_DEBUG": "1"}, "Debug mode cannot be used in production"),
        ({"RISKASSESS_SECRET_KEY": ""}, "RISKASSESS_SECRET_KEY must be set"),
        ({"RISKASSESS_SECRET_KEY": "changeme" * 5}, "looks like a placeholder"),
        ({"RISKASSESS_KEYRING": str(tmp_path / "none.json")}, "No keyring at"),
        ({"RISKASSESS_DATABASE_URL": demo_db}, "belongs to demo mode"),
        ({"RISKASSESS_MODE": "demo"}, "Serve the demo with `riskassess demo`"),
        ({"RISKASSESS_WORKERS": "0"}, "RISKASSESS_WORKERS must be a whole number"),
    ]
    for changes, message in cases_:
        assert message in _refusal({**env, **changes}), changes
    assert "--bind takes HOST:PORT" in _refusal(env, "--bind", "localhost")
