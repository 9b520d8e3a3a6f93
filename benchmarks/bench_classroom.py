"""A classroom at once: 30 simulated participants join a course session and submit full
SAVRY-style ratings concurrently against the demo server, served the way a trainer serves it.

    .venv/bin/python benchmarks/bench_classroom.py [--participants 30]

Starts `riskassess demo` (its own SQLite database in a temporary instance folder, seeded on
first start) on a free local port, logs in as the demo trainer and opens a course on the
SAVRY-style vignette. Then every participant, in a thread of its own and all at once, opens the
join page, joins with the code and a display name, fills in every domain page and the judgement
page and submits, as a browser would (form posts with the CSRF token, following redirects).
Counts every answer that is not what the browser expects as an error, records each request's
time, and ends with the trainer's results page after the reveal.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import load_directories
from riskassess.training.seed import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
VIGNETTE = ("savry-elias", "1.0")
INSTRUMENT = ("savry-style", "1.0")
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LOCK = re.compile(r'name="lock_version"[^>]*value="(\d+)"')


@dataclass
class Log:
    times: list[tuple[float, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, what: str) -> None:
        with self.lock:
            self.times.append((seconds, what))

    def fail(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


class Browser:
    """Cookies and redirects, like a browser; every request timed."""

    def __init__(self, base: str, log: Log) -> None:
        self.base = base
        self.log = log
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[str, str]:
        body = None if data is None else urllib.parse.urlencode(data).encode()
        start = time.perf_counter()
        try:
            with self.opener.open(self.base + path, body, timeout=60) as answer:
                text = answer.read().decode()
                url = answer.geturl()
        except urllib.error.HTTPError as exc:
            self.log.fail(f"{'POST' if data else 'GET'} {path}: {exc.code}")
            return "", ""
        except OSError as exc:
            self.log.fail(f"{'POST' if data else 'GET'} {path}: {exc}")
            return "", ""
        finally:
            self.log.add(time.perf_counter() - start, f"{'POST' if data else 'GET'} {path}")
        return text, url.removeprefix(self.base)

    def form(self, path: str, fields: dict[str, str]) -> tuple[str, str]:
        page, _url = self.request(path)
        token = TOKEN.search(page)
        lock = LOCK.search(page)
        data = {"csrf_token": token.group(1) if token else "", **fields}
        if lock and "lock_version" not in fields:
            data["lock_version"] = lock.group(1)
        return self.request(path, data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit("the demo server stopped")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the demo server did not start")


def participant(
    base: str, log: Log, code: str, number: int, ready: threading.Barrier, instrument: Instrument
) -> None:
    browser = Browser(base, log)
    ready.wait()
    _page, url = browser.form("/join", {"code": code, "display_name": f"Deltagare {number}"})
    if url != "/course":
        log.fail(f"participant {number} did not join (ended at {url})")
        return
    prefix = f"/course/vignettes/{VIGNETTE[0]}/{VIGNETTE[1]}"
    levels = {"risk": ("low", "moderate", "high"), "protective": ("present", "absent")}
    for index, domain in enumerate(instrument.domains):
        fields = {"next": "1"}
        for item_index, item in enumerate(domain.items):
            choices = levels[item.scale.kind]
            fields[f"rating_{item.code}"] = choices[(number + index + item_index) % len(choices)]
        _page, url = browser.form(f"{prefix}/rate/{domain.code}", fields)
        if "/rate/" not in url and not url.endswith("/judgement"):
            log.fail(f"participant {number}: {domain.code} not saved (ended at {url})")
    _page, url = browser.form(
        f"{prefix}/judgement",
        {"judgement_level": ("low", "moderate", "high")[number % 3], "judgement_reason": ""},
    )
    if url != prefix:
        log.fail(f"participant {number}: judgement not saved (ended at {url})")
    page, _ = browser.request(prefix)
    token = TOKEN.search(page)
    _page, url = browser.request(
        f"{prefix}/submit", {"csrf_token": token.group(1) if token else ""}
    )
    if url != "/course":
        log.fail(f"participant {number}: not submitted (ended at {url})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=30)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as instance:
        env = dict(os.environ, RISKASSESS_INSTANCE_PATH=instance)
        server = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "riskassess.cli", "demo", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(base, server)
            log = Log()
            trainer = Browser(base, log)
            trainer.form("/login", {"username": "utbildare", "password": DEMO_PASSWORD})
            _page, course = trainer.form(
                "/courses", {"title": "Klassrummet", "vignettes": "@".join(VIGNETTE)}
            )
            page, _ = trainer.request(course)
            code = re.search(r"<code>([A-Z2-9]{6})</code>", page)
            if code is None:
                raise SystemExit("the trainer could not open a course")
            log.times.clear()
            ready = threading.Barrier(args.participants)
            instrument = load_directories([ROOT / "instruments"]).get(*INSTRUMENT)
            if instrument is None:
                raise SystemExit(f"instrument {INSTRUMENT} is not shipped")
            threads = [
                threading.Thread(
                    target=participant, args=(base, log, code.group(1), n, ready, instrument)
                )
                for n in range(1, args.participants + 1)
            ]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            total = time.perf_counter() - start
            page, _ = trainer.request(course)
            finished = page.count("1/1 · ")
            token = TOKEN.search(page)
            before = time.perf_counter()
            page, _ = trainer.request(
                f"{course}/reveal", {"csrf_token": token.group(1) if token else ""}
            )
            results = time.perf_counter() - before
        finally:
            server.terminate()
            server.wait(timeout=30)
    times = sorted(t for t in log.times if "/reveal" not in t[1])
    requests = [t for t, _what in times]
    print(f"participants: {args.participants}, finished: {finished}")
    print(f"requests: {len(requests)}, errors: {len(log.errors)}")
    for error in log.errors[:10]:
        print("  " + error)
    print(f"total time from the first join to the last submission: {total:.2f} s")
    print(f"median request: {statistics.median(requests) * 1000:.0f} ms")
    slowest, what = times[-1]
    print(f"slowest request: {slowest * 1000:.0f} ms ({what})")
    print(f"reveal and the results page with {finished} participants: {results * 1000:.0f} ms")
    if log.errors or finished != args.participants:
        sys.exit(1)


if __name__ == "__main__":
    main()
