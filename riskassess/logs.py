"""Log lines: one JSON object per line, and one line per request.

A request line holds the request id, the user's id (a UUID, never a name), the route as the
app declares it (`/cases/<uuid:case_id>`, never the path a client sent, never a query string),
the method, the status and the duration. Other lines (the app's errors, gunicorn's own) carry
their message with query strings and personnummer-shaped numbers removed, as a last guard:
the app never puts personal data in a message, but gunicorn names the raw request line when a
request fails outside the app.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from flask import Flask, g, request
from werkzeug.wsgi import ClosingIterator

REQUEST_LOGGER = "riskassess.requests"
REQUEST_ID_HEADER = "X-Request-ID"
_ENVIRON_ID = "riskassess.request_id"
_ENVIRON_FIELDS = "riskassess.request_fields"
# An id from the proxy is kept only in this shape: it cannot break the line or add a field.
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{8,64}\Z")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")
# 10 or 12 digits, with or without the - or + before the last four (a samordningsnummer too).
_PERSONNUMMER = re.compile(r"(?<!\d)(?:\d{8}|\d{6})[-+]?\d{4}(?!\d)")

log = logging.getLogger(REQUEST_LOGGER)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Any]


def scrub(text: str) -> str:
    """Remove query strings and personnummer-shaped numbers from a message."""
    return _PERSONNUMMER.sub("[number]", _QUERY.sub(r"\1?[query]", text))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, and the fields a
    request line carries."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = scrub(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for a whole server process: the app's and gunicorn's lines as JSON on
    stderr; gunicorn's access log off (it would name raw URLs, query strings included)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            "riskassess": {"level": level, "handlers": ["stderr"], "propagate": False},
        },
    }


def install_json_logging() -> None:
    """The app's lines as JSON on stderr, for a WSGI server whose own logging is its business
    (riskassess.wsgi); leaves a logger that something else configured alone."""
    logger = logging.getLogger("riskassess")
    if logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _request_id(given: str) -> str:
    if _GIVEN_ID.match(given) and not _PERSONNUMMER.search(given):
        return given
    return uuid.uuid4().hex


class RequestLog:
    """WSGI middleware: gives each request an id (the proxy's X-Request-ID when it has a sane
    shape, else a new one), returns it in the response, and logs one line when the response
    has been sent, so the duration includes the body."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = _request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        environ[_ENVIRON_ID] = request_id
        status = [500]

        def start(status_line: str, headers: list[tuple[str, str]], *exc: ExcInfo) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, *exc)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            _log_request(environ, 500, started)
            raise
        return ClosingIterator(body, lambda: _log_request(environ, status[0], started))


def _log_request(environ: dict[str, Any], status: int, started: float) -> None:
    method = environ.get("REQUEST_METHOD", "")
    fields: dict[str, Any] = {
        "request_id": environ.get(_ENVIRON_ID),
        "user_id": None,
        "method": method if method in _METHODS else "OTHER",
        "route": None,
        "endpoint": None,
    }
    fields.update(environ.get(_ENVIRON_FIELDS, {}))
    fields["status"] = status
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    log.info("request", extra={"fields": fields})


def _record_request(_exc: BaseException | None) -> None:
    """At the end of the request, note what the line names: the route the URL matched and
    the logged-in user's id, if a view loaded one (never loaded here: no query for it)."""
    rule = request.url_rule
    fields: dict[str, Any] = {
        "route": None if rule is None else rule.rule,
        "endpoint": request.endpoint,
    }
    loaded = g.get("_login_user")  # where flask-login keeps the user it loaded
    if loaded is not None and getattr(loaded, "is_authenticated", False):
        user_id = getattr(loaded, "id", None)
        if isinstance(user_id, uuid.UUID):
            fields["user_id"] = str(user_id)
    request.environ[_ENVIRON_FIELDS] = fields


def install_request_log(app: Flask) -> None:
    app.teardown_request(_record_request)
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]
