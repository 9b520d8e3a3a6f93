"""The seeded demo served to a real browser, for the browser tests that use the demo."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from tests.browser.test_walkthrough import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import skip_or_fail


@pytest.fixture
def base_url(demo_app: Flask, demo_db: Session) -> Iterator[str]:
    """The seeded demo served over HTTP on a free local port."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is not installed")
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser(base_url: str) -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
