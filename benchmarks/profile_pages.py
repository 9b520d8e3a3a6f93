"""Where a page's time goes: each page in a loop in one process, sampled by py-spy (issue 17).

    RISKASSESS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
      .venv/bin/python benchmarks/profile_pages.py [--cases 10000] [--seconds 12] [--pages ...]

A private PostgreSQL database beside the one the URL names (dropped at the end) is seeded as
for `bench_load.py`. For each page a child process logs in and requests the page through the
Flask test client for `--seconds`, while py-spy samples it (idle time included, so waiting for
PostgreSQL counts). Each sample is put in the layer its innermost frame belongs to, and the
table gives each layer's share of the samples taken inside a request, beside the page's
median time. py-spy samples from outside the process, so unlike cProfile it does not slow the
many small Python calls more than the waits. Needs ptrace, which root has.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PAGES = ("signed-in", "list", "case", "assessment", "section", "save")
# Innermost frame first: the first layer whose pattern a frame matches takes the sample.
LAYERS = (
    ("waiting for PostgreSQL", re.compile(r"^(\S*wait\S*|\S*select\S*|\S*poll\S*) \(psycopg/")),
    ("psycopg (driver)", re.compile(r"\(psycopg")),
    ("SQLAlchemy", re.compile(r"\(sqlalchemy/")),
    ("WTForms", re.compile(r"\(wtforms/")),
    ("translation", re.compile(r"\((flask_babel|babel)/|\(riskassess/i18n\.py")),
    ("crypto", re.compile(r"\(cryptography/|\(riskassess/core/(crypto|keys)\.py")),
    ("Jinja", re.compile(r"\((jinja2|markupsafe)/|\.html:")),
    ("JSON and hashing", re.compile(r"\((json|hashlib)/|json\.py|hashlib")),
    ("Flask and Werkzeug", re.compile(r"\((flask|werkzeug|flask_login|flask_wtf)/")),
    ("riskassess code", re.compile(r"\(riskassess/")),
)
IN_REQUEST = "Flask.wsgi_app"


def child(page: str, seconds: float) -> None:
    """Log in and request `page` until the time is up; print the median request time."""
    from bench_pages import bench_app, log_in

    app = bench_app(os.environ["BENCH_DATABASE_URL"], Path(os.environ["RISKASSESS_KEYRING"]))
    client = app.test_client()
    log_in(client)
    paths = {
        "signed-in": "/instruments",
        "list": "/cases",
        "case": f"/cases/{os.environ['BENCH_CASE']}",
        "assessment": f"/assessments/{os.environ['BENCH_APPROVED']}",
        "section": f"/assessments/{os.environ['BENCH_DRAFT']}/rate/H",
    }
    request = _saver(client, paths["section"]) if page == "save" else _getter(client, paths[page])
    for _ in range(10):  # warm: templates compiled, statements cached, connections pooled
        request()
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        request()
        times.append((time.perf_counter() - start) * 1000)
    print(f"{page} {statistics.median(times):.2f} {len(times)}")


def _getter(client: FlaskClient, path: str) -> Callable[[], None]:
    def get() -> None:
        assert client.get(path).status_code == 200

    return get


def _saver(client: FlaskClient, path: str) -> Callable[[], None]:
    """A section save as a browser sends it, with the lock version of the previous save; the
    page it redirects to is not fetched (the load benchmark's saves do not fetch it either)."""
    page = client.get(path).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    lock = [int(page.split('name="lock_version" type="hidden" value="')[1].split('"')[0])]

    def save() -> None:
        rating = ("high", "low")[lock[0] % 2]
        data = {"csrf_token": token, "lock_version": str(lock[0]), "rating_H1": rating}
        assert client.post(path, data={**data, "rationale_H1": "Fiktiv"}).status_code == 302
        lock[0] += 1

    return save


def layers(samples: Path) -> tuple[int, collections.Counter[str]]:
    """py-spy's raw output ("frame;frame;... count") as samples per layer, in requests only."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in samples.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        frames = stack.split(";")
        if not any(IN_REQUEST in frame for frame in frames):
            continue
        total += int(number)
        for frame in reversed(frames):
            layer = next((name for name, pattern in LAYERS if pattern.search(frame)), None)
            if layer is not None:
                counts[layer] += int(number)
                break
        else:
            counts["other (standard library)"] += int(number)
    return total, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds)
        return
    import bench_load

    spy = Path(sys.executable).parent / "py-spy"
    admin_url = os.environ.get("RISKASSESS_TEST_POSTGRES_URL", bench_load.DEFAULT_ADMIN_URL)
    with tempfile.TemporaryDirectory() as tmp_name, bench_load.private_database(admin_url) as url:
        tmp = Path(tmp_name)
        env = {**os.environ, **bench_load.prepare(url, tmp, args.cases), "BENCH_DATABASE_URL": url}
        case, approved, draft = bench_load.query(
            url,
            "SELECT a.case_id, a.id, d.id FROM assessment a JOIN assessment d"
            " ON d.case_id = a.case_id AND d.state = 'draft'"
            " WHERE a.state = 'approved' ORDER BY a.case_id LIMIT 1",
        )[0]
        env |= {"BENCH_CASE": str(case), "BENCH_APPROVED": str(approved), "BENCH_DRAFT": str(draft)}
        results = {}
        for page in args.pages.split(","):
            out = tmp / f"{page}.txt"
            run = subprocess.run(  # noqa: S603 - py-spy and this script, fixed arguments
                [str(spy), "record", "--idle", "--rate", "250", "--format", "raw", "--output",
                 str(out), "--", sys.executable, __file__, "--child", page,
                 "--seconds", str(args.seconds)],
                env=env, capture_output=True, text=True, check=True, timeout=args.seconds + 300,
            )  # fmt: skip
            _name, median, count = next(
                line for line in run.stdout.splitlines() if line.startswith(page + " ")
            ).split()
            results[page] = (float(median), int(count), *layers(out))
            print(f"{page}: median {median} ms under py-spy, {count} requests", flush=True)
    names = [name for name, _ in LAYERS] + ["other (standard library)"]
    print(f"\n| share of a request's samples | {' | '.join(results)} |")
    print("|---|" + "---|" * len(results))
    for name in names:
        shares = [f"{100 * counts[name] / total:.0f} %" for *_, total, counts in results.values()]
        print(f"| {name} | {' | '.join(shares)} |")
    medians = " | ".join(f"{median:.1f}" for median, *_ in results.values())
    print(f"| median ms a request (under py-spy) | {medians} |")


if __name__ == "__main__":
    main()
