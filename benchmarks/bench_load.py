"""Load benchmark: riskassess under gunicorn on PostgreSQL beside a bare Flask page (issue 17).

    RISKASSESS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      .venv/bin/python benchmarks/bench_load.py [--cases 10000] [--seconds 12] [--repeats 2]

Creates a private database beside the one the URL names (and drops it at the end), loads
10,000 cases in one unit with `bench_pages.seed` (real data keys, sealed content, approved
assessments with their follow-ups, submitted ones waiting for review, drafts), and serves it
the way `riskassess serve` does: `riskassess.server.Server` with `gunicorn_options`, two sync
(gthread) workers unless RISKASSESS_WORKERS / RISKASSESS_THREADS say otherwise. The only
difference from `riskassess serve` is that the second login factor is off: the harness has no
authenticator app. Beside it, on the same gunicorn settings, a bare Flask + SQLAlchemy app that
reads one case row by id and renders a small template. The pages: the instrument list signed
in (no case data: what the login session, the user and the base template cost on their own),
the case list, a case page, an approved assessment, a section save and an approval.

wrk drives each page for a bounded time at 16 connections over 2 threads, interleaved with the
bare page (bare, page, bare, next page, bare, ...), and the whole sequence is repeated. Each
page is compared with the mean of the bare runs just before and after it. Logged-in requests
carry a session cookie made by one real login per user and its CSRF token; saves cycle through
the drafts with their current lock versions, approvals through the submitted assessments (each
approved once; the supervisor's password is checked, as approving requires). At the end the
audit chain is verified.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from jinja2 import DictLoader
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

HERE = Path(__file__).resolve().parent
USER_AGENT = "riskassess-bench-load"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- the bare stack ------------------------------------------------------------------------


class BareBase(DeclarativeBase):
    pass


class Row(BareBase):
    __tablename__ = "case_file"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))


def bare_app() -> Flask:
    """Flask + SQLAlchemy + Jinja with nothing of riskassess: one case row by id, rendered."""
    engine = create_engine(os.environ["BENCH_DATABASE_URL"])
    app = Flask("bare")
    app.jinja_loader = DictLoader(  # type: ignore[assignment]
        {
            "row.html": "<!doctype html><html lang=sv><title>{{ row.reference }}</title>"
            "<main><h1>{{ row.reference }}</h1><p>{{ row.status }}</p></main></html>"
        }
    )

    @app.get("/bare/<uuid:row_id>")
    def page(row_id: uuid.UUID) -> Any:
        with Session(engine) as session:
            row = session.get(Row, row_id)
            if row is None:
                return "not found", 404
            return render_template("row.html", row=row)

    return app


# --- the riskassess server, as `riskassess serve` runs it ----------------------------------


def serve_app(bind: str) -> None:
    from riskassess.config import load_server_settings
    from riskassess.server import Server, check_start_up, gunicorn_options, production_settings

    settings = replace(production_settings(), mfa_required=False)
    check_start_up(settings)
    Server(settings, gunicorn_options(bind, load_server_settings(), settings)).run()


# --- database and data ---------------------------------------------------------------------


@contextmanager
def private_database(admin_url: str) -> Any:
    import psycopg

    name = f"riskassess_load_{os.getpid()}"
    parts = urllib.parse.urlsplit(admin_url.replace("postgresql+psycopg", "postgresql"))
    with psycopg.connect(urllib.parse.urlunsplit(parts), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield url.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(urllib.parse.urlunsplit(parts), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url: str, tmp: Path, cases: int) -> dict[str, str]:
    """Migrate, claim production, seed; return the environment the server runs with."""
    sys.path.insert(0, str(HERE))
    from bench_pages import seed

    from riskassess.app import create_app
    from riskassess.config import load_settings
    from riskassess.core import migrate
    from riskassess.core.crypto import Keyring
    from riskassess.core.db import make_engine, make_session_factory, transaction
    from riskassess.core.installation import claim_mode

    keyring = tmp / "keyring.json"
    Keyring.generate().save_new(keyring)
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        claim_mode(session, "production")
    engine.dispose()
    env = {
        "RISKASSESS_MODE": "production",
        "RISKASSESS_DATABASE_URL": url,
        "RISKASSESS_KEYRING": str(keyring),
        "RISKASSESS_SECRET_KEY": secrets.token_urlsafe(32),
        "RISKASSESS_INSTANCE_PATH": str(tmp / "instance"),
        "RISKASSESS_AUDIT_CHECKPOINTS": str(tmp / "checkpoints.jsonl"),
    }
    settings = replace(load_settings(env), mfa_required=False)
    app = create_app(settings)
    start = time.perf_counter()
    step = 2000
    for offset in range(0, cases, step):
        seed(app, min(step, cases - offset), offset=offset)
    print(f"seeded {cases} cases, {3 * cases} assessments in {time.perf_counter() - start:.1f} s")
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()
    # Statistics and the visibility map as autovacuum keeps them on a live database.
    import psycopg

    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as conn:
        conn.execute("VACUUM ANALYZE")
    return env


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


# --- servers -------------------------------------------------------------------------------


@contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path) -> Any:
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, env={**os.environ, **env}, stdout=out, stderr=out, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def database_cpu_seconds(database: str) -> float:
    """User + system CPU of the PostgreSQL backends serving `database` (same host), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
            if f" {database} " not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def worker_cpu_seconds(master: int) -> float:
    """User + system CPU of a gunicorn master's children (its workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# --- logging in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    cookie: str
    csrf: str


def _request(
    port: int, method: str, path: str, cookie: str = "", body: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    text = response.read().decode()
    set_cookie = response.getheader("Set-Cookie") or ""
    return response.status, {"set-cookie": set_cookie}, text


def _cookie(headers: dict[str, str], previous: str) -> str:
    found = headers["set-cookie"].split(";", 1)[0]
    return found or previous


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(port: int, username: str, password: str, form_path: str) -> Login:
    status, headers, page = _request(port, "GET", "/login")
    cookie = _cookie(headers, "")
    status, headers, _page = _request(
        port,
        "POST",
        "/login",
        cookie,
        {"username": username, "password": password, "csrf_token": _csrf(page)},
    )
    assert status == 302, f"login of {username} answered {status}"
    cookie = _cookie(headers, cookie)
    status, headers, page = _request(port, "GET", form_path, cookie)
    assert status == 200, f"{form_path} answered {status}"
    return Login(_cookie(headers, cookie), _csrf(page))


def check(
    port: int, caseworker: Login, supervisor: Login, case_id: str, draft: str, waiting: str
) -> None:
    """One request of each kind, answered as a browser would see it, before any is timed."""
    for path in ("/cases", f"/cases/{case_id}"):
        status, _headers, page = _request(port, "GET", path, caseworker.cookie)
        assert status == 200 and "<main" in page, (path, status)
    draft_id, version = draft.split()
    status, _headers, page = _request(
        port, "POST", f"/assessments/{draft_id}/rate/H", caseworker.cookie,
        {"csrf_token": caseworker.csrf, "lock_version": version, "rating_H1": "high",
         "rationale_H1": "Fiktiv motivering"},
    )  # fmt: skip
    assert status == 302, f"section save answered {status}: {page[:2000]}"
    status, _headers, page = _request(
        port, "POST", f"/assessments/{waiting.split()[0]}/review", supervisor.cookie,
        {"csrf_token": supervisor.csrf, "decision": "approve", "comment": "",
         "password": supervisor_password()},
    )  # fmt: skip
    assert status == 302, f"approval answered {status}: {page[:2000]}"


def supervisor_password() -> str:
    from bench_pages import PASSWORD

    return PASSWORD


# --- wrk -----------------------------------------------------------------------------------

# Each wrk thread loads the script on its own: a thread takes every n-th line of the data
# file, so no two threads post to the same assessment. A save sends the lock version it knows
# and counts it up, as the saved form would; approvals go through the list once.
LUA = r"""
local threads = {}
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local items = {}
local next_item = 0
local csrf = os.getenv("BENCH_CSRF")
local kind = os.getenv("BENCH_KIND")
local password = os.getenv("BENCH_PASSWORD")
local versions = {}
function init(args)
  local n = 0
  local count = tonumber(os.getenv("BENCH_THREADS"))
  for line in io.lines(os.getenv("BENCH_DATA")) do
    n = n + 1
    -- GETs: every thread reads every line, from its own starting point
    if kind == "get" or n % count == tid - 1 then table.insert(items, line) end
  end
  wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
  wrk.headers["User-Agent"] = os.getenv("BENCH_AGENT")
  if kind == "get" then next_item = (tid - 1) * math.floor(#items / count) end
end


function request()
  next_item = next_item % #items + 1
  local line = items[next_item]
  if kind == "get" then
    return wrk.format("GET", line)
  end
  local id, version = line:match("(%S+) (%d+)")
  -- wrk.format uses these headers instead of wrk.headers, not beside them
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded",
                   ["Cookie"] = wrk.headers["Cookie"], ["User-Agent"] = wrk.headers["User-Agent"]}
  if kind == "save" then
    local known = versions[id] or tonumber(version)
    versions[id] = known + 1
    local body = "csrf_token=" .. csrf .. "&lock_version=" .. known ..
      "&rating_H1=high&rationale_H1=Fiktiv+motivering"
    return wrk.format("POST", "/assessments/" .. id .. "/rate/H", headers, body)
  end
  local body = "csrf_token=" .. csrf .. "&decision=approve&comment=&password=" .. password
  return wrk.format("POST", "/assessments/" .. id .. "/review", headers, body)
end

if os.getenv("BENCH_DEBUG") then
  local printed = 0
  function response(status, headers, body)
    if printed < 3 then
      print(status, headers["Location"], body:sub(1, 300))
      printed = printed + 1
    end
  end
end
"""


@dataclass
class Run:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int
    cpu_ms: float = 0.0  # worker CPU per request
    db_cpu_ms: float = 0.0  # PostgreSQL backends' CPU per request


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    name: str,
    port: int,
    lines: list[str],
    kind: str,
    args: argparse.Namespace,
    tmp: Path,
    login: Login | None = None,
    password: str = "",
    seconds: float | None = None,
    master: int | None = None,
) -> Run:
    data = tmp / f"data-{name.replace(' ', '-')}.txt"
    data.write_text("\n".join(lines) + "\n")
    script = tmp / "bench.lua"
    script.write_text(LUA)
    env = {
        **os.environ,
        "BENCH_DATA": str(data),
        "BENCH_THREADS": str(args.threads),
        "BENCH_KIND": kind,
        "BENCH_COOKIE": login.cookie if login else "",
        "BENCH_CSRF": urllib.parse.quote(login.csrf) if login else "",
        "BENCH_AGENT": USER_AGENT,
        "BENCH_PASSWORD": urllib.parse.quote(password),
    }
    database = urllib.parse.urlsplit(os.environ["BENCH_DATABASE_URL"]).path.lstrip("/")
    cpu_before = worker_cpu_seconds(master) if master else 0.0
    db_before = database_cpu_seconds(database)
    out = subprocess.run(  # noqa: S603 - wrk on loopback, our arguments
        [
            shutil.which("wrk") or "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{seconds or args.seconds:g}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if os.environ.get("BENCH_DEBUG"):
        print(out)
    cpu = (worker_cpu_seconds(master) - cpu_before) if master else 0.0
    db_cpu = database_cpu_seconds(database) - db_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*timeout (\d+)", out)
    bad = (int(bad_match.group(1)) if bad_match else 0) + (int(errors.group(1)) if errors else 0)
    done = max(requests, 1)
    return Run(name, rps, p50, p99, requests, bad, 1000 * cpu / done, 1000 * db_cpu / done)


# --- the benchmark -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--bare-port", type=int, default=8105)
    parser.add_argument("--pages", default="signed-in,list,case,assessment,save,approve")
    parser.add_argument("--serve-app", metavar="BIND", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_app:
        serve_app(args.serve_app)
        return
    admin_url = os.environ.get("RISKASSESS_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)
    workers = os.environ.setdefault("RISKASSESS_WORKERS", "2")
    threads = os.environ.setdefault("RISKASSESS_THREADS", "4")
    timeout = os.environ.setdefault("RISKASSESS_TIMEOUT", "30")
    with tempfile.TemporaryDirectory() as tmp_name, private_database(admin_url) as url:
        tmp = Path(tmp_name)
        os.environ["BENCH_DATABASE_URL"] = url
        env = prepare(url, tmp, args.cases)
        from bench_pages import PASSWORD

        rows = query(
            url,
            "SELECT a.id, a.state, a.lock_version, a.case_id FROM assessment a ORDER BY a.id",
        )
        rng = random.Random(17)  # noqa: S311 - the order of requests, not a secret
        case_ids = [str(c) for (c,) in query(url, "SELECT id FROM case_file")]
        rng.shuffle(case_ids)
        approved = [str(r[0]) for r in rows if r[1] == "approved"]
        rng.shuffle(approved)
        first_draft = next(str(r[0]) for r in rows if r[1] == "draft")
        first_submitted = next(str(r[0]) for r in rows if r[1] == "submitted")
        app_command = [sys.executable, str(Path(__file__).resolve()), "--serve-app"]
        bare_command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--chdir", str(HERE), "--bind", f"127.0.0.1:{args.bare_port}",
            "--workers", workers, "--worker-class", "gthread", "--threads", threads,
            "--timeout", timeout, "bench_load:bare_app()",
        ]  # fmt: skip
        log = tmp / "servers.log"
        with (
            server([*app_command, f"127.0.0.1:{args.port}"], env, args.port, log) as app_process,
            server(bare_command, {"BENCH_DATABASE_URL": url}, args.bare_port, log) as bare,
        ):
            caseworker = log_in(
                args.port, "bench.cw", PASSWORD, f"/assessments/{first_draft}/rate/H"
            )
            supervisor = log_in(args.port, "bench.sup", PASSWORD, f"/assessments/{first_submitted}")

            def drafts() -> list[str]:
                found = query(url, "SELECT id, lock_version FROM assessment WHERE state='draft'")
                return [f"{i} {v}" for i, v in found]

            def submitted() -> list[str]:
                found = query(url, "SELECT id FROM assessment WHERE state='submitted'")
                return [f"{i} 0" for (i,) in found]

            pages: dict[str, Any] = {
                # Signed in, no case data: the session, the user, the base template. What
                # every page costs before it reads a case.
                "signed-in": ("signed-in, no case", lambda: ["/instruments"], "get", caseworker),
                "list": ("case list", lambda: ["/cases"], "get", caseworker),
                "case": ("case page", lambda: [f"/cases/{c}" for c in case_ids], "get", caseworker),
                "assessment": (
                    "assessment page",
                    lambda: [f"/assessments/{a}" for a in approved],
                    "get",
                    caseworker,
                ),
                "save": ("section save", drafts, "save", caseworker),
                "approve": ("approval", submitted, "approve", supervisor),
            }
            chosen = [pages[p] for p in args.pages.split(",")]
            bare_lines = [f"/bare/{c}" for c in case_ids]

            def run_bare(seconds: float | None = None) -> Run:
                return wrk("bare", args.bare_port, bare_lines, "get", args, tmp,
                           seconds=seconds, master=bare.pid)  # fmt: skip

            def run_page(page: Any, seconds: float | None = None) -> Run:
                name, lines, kind, login = page
                password = PASSWORD if kind == "approve" else ""
                return wrk(name, args.port, lines(), kind, args, tmp, login, password,
                           seconds=seconds, master=app_process.pid)  # fmt: skip

            check(args.port, caseworker, supervisor, case_ids[0], drafts()[0], submitted()[0])
            # Warm both servers (templates compiled, connections pooled), measured nowhere.
            run_bare(3)
            for page in chosen:
                if page[2] == "get":
                    run_page(page, 2)
            results: list[tuple[Run, Run, Run]] = []
            before = run_bare()
            for _repeat in range(args.repeats):
                for page in chosen:
                    saved_before = query(
                        url, "SELECT coalesce(sum(lock_version), 0), count(*) FILTER "
                        "(WHERE state='approved') FROM assessment"
                    )[0]  # fmt: skip
                    measured = run_page(page)
                    saved_after = query(
                        url, "SELECT coalesce(sum(lock_version), 0), count(*) FILTER "
                        "(WHERE state='approved') FROM assessment"
                    )[0]  # fmt: skip
                    if page[2] == "save":
                        done = saved_after[0] - saved_before[0]
                        print(f"  saves written: {done} of {measured.requests} posted")
                    if page[2] == "approve":
                        done = saved_after[1] - saved_before[1]
                        print(f"  approvals written: {done} of {measured.requests} posted")
                    after = run_bare()
                    results.append((before, measured, after))
                    print(_line(before, measured, after), flush=True)
                    before = after
        report(results, args)
        verify(url, env)


def _line(before: Run, run: Run, after: Run) -> str:
    bare_rps = (before.rps + after.rps) / 2
    bare_p99 = (before.p99_ms + after.p99_ms) / 2
    return (
        f"{run.name:16} {run.rps:8.1f} req/s  p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms"
        f"  cpu {run.cpu_ms:5.1f} + db {run.db_cpu_ms:4.1f} ms/req  bad {run.bad:4d}"
        f" | bare {bare_rps:7.1f} req/s"
        f"  p99 {bare_p99:5.1f} ms  cpu {(before.cpu_ms + after.cpu_ms) / 2:4.1f} ms/req"
        f" | share {run.rps / bare_rps:.3f}  p99 x{run.p99_ms / bare_p99:.1f}"
    )


def report(results: list[tuple[Run, Run, Run]], args: argparse.Namespace) -> None:
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections}, {args.seconds:g} s per run, "
        f"{args.repeats} interleaved sequences"
    )
    print(
        "| page | req/s | p50 ms | p99 ms | CPU ms/req: worker + db | bare req/s "
        "| bare p50 / p99 ms | share of bare throughput | p99 against bare |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    names = list(dict.fromkeys(run.name for _b, run, _a in results))
    for name in names:
        rows = [(b, r, a) for b, r, a in results if r.name == name]

        def span(values: list[float], fmt: str) -> str:
            low, high = min(values), max(values)
            return (
                format(low, fmt)
                if format(low, fmt) == format(high, fmt)
                else (f"{format(low, fmt)}-{format(high, fmt)}")
            )

        bare_rps = [(b.rps + a.rps) / 2 for b, _r, a in rows]
        shares = [r.rps / x for (_b, r, _a), x in zip(rows, bare_rps, strict=True)]
        bare_p50 = [(b.p50_ms + a.p50_ms) / 2 for b, _r, a in rows]
        bare_p99 = [(b.p99_ms + a.p99_ms) / 2 for b, _r, a in rows]
        tails = [r.p99_ms / x for (_b, r, _a), x in zip(rows, bare_p99, strict=True)]
        print(
            f"| {name} | {span([r.rps for _b, r, _a in rows], '.0f')} "
            f"| {span([r.p50_ms for _b, r, _a in rows], '.1f')} "
            f"| {span([r.p99_ms for _b, r, _a in rows], '.1f')} "
            f"| {span([r.cpu_ms for _b, r, _a in rows], '.1f')} + "
            f"{span([r.db_cpu_ms for _b, r, _a in rows], '.1f')} "
            f"| {span(bare_rps, '.0f')} "
            f"| {span(bare_p50, '.1f')} / {span(bare_p99, '.1f')} "
            f"| {span(shares, '.2f')} | {span(tails, '.1f')}x |"
        )
    bare_cpu = statistics.median(b.cpu_ms for b, _r, _a in results)
    bare_db = statistics.median(b.db_cpu_ms for b, _r, _a in results)
    print(f"bare page CPU: worker {bare_cpu:.2f} + db {bare_db:.2f} ms per request (medians)")


def verify(url: str, env: dict[str, str]) -> None:
    from riskassess.core.audit import verify_chain
    from riskassess.core.db import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            result = verify_chain(session)
        print(f"audit chain: {result}")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
