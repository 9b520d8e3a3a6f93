"""The seeded demo served to a real browser, for the browser tests that use the demo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from tests.browser.test_walkthrough import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import skip_or_fail


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free local port, for as long as the block runs."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is not installed")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright, for as long as the block runs."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def base_url(demo_app: Flask, demo_db: Session) -> Iterator[str]:
    """The seeded demo served over HTTP on a free local port."""
    with serving(demo_app) as url:
        yield url


@pytest.fixture
def browser(base_url: str) -> Iterator[Browser]:
    with chromium() as launched:
        yield launched
