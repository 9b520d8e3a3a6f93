"""`riskassess serve`: the app under gunicorn, configured from the environment.

gunicorn's documented custom-application pattern (a BaseApplication subclass): the options are
set here, not read from gunicorn's command line, its config file or GUNICORN_CMD_ARGS, so one
place (RISKASSESS_WORKERS, RISKASSESS_THREADS, RISKASSESS_TIMEOUT) decides. The app is created
in each worker after the fork, so no worker shares a database engine, pool or connection with
another (SQLAlchemy engines must not cross a fork); the master only checks the settings first,
by creating the app once and throwing it away, so that a refused setting is one line and a
non-zero exit instead of workers failing to boot.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from riskassess.app import create_app
from riskassess.config import ConfigError, ServerSettings, Settings, check_settings, load_settings
from riskassess.logs import logging_config


def production_settings() -> Settings:
    """The settings a production server runs with, checked; the demo has its own command."""
    settings = load_settings()
    if settings.is_demo:
        raise ConfigError(
            "RISKASSESS_MODE is demo: `riskassess serve` and riskassess.wsgi serve production "
            "only. Serve the demo with `riskassess demo`."
        )
    check_settings(settings)
    return settings


def check_start_up(settings: Settings) -> None:
    """Everything a worker will do at start-up, once, in the master: the same refusals, and
    no database connection left open to leak into the workers."""
    close_app(create_app(settings))


def close_app(app: Flask) -> None:
    app.extensions["riskassess"].session_factory.kw["bind"].dispose()


def gunicorn_options(bind: str, server: ServerSettings, settings: Settings) -> dict[str, Any]:
    return {
        "bind": [bind],
        "workers": server.workers,
        "worker_class": "gthread",
        "threads": server.threads,
        "timeout": server.timeout,
        "graceful_timeout": server.timeout,
        "preload_app": False,  # the app is made in each worker, after the fork
        "proc_name": "riskassess",
        "accesslog": None,  # one JSON line per request comes from the app (logs.py)
        "errorlog": "-",
        "logconfig_dict": logging_config(),
        # Forwarded headers are the app's business (RISKASSESS_TRUSTED_PROXIES, ProxyFix);
        # gunicorn believes none of them, from any address.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "forwarder_headers": "",
        # No runtime control socket: it would be one more way in, and several installations
        # on one host would share its default path. Signals do the same (HUP, TERM, TTIN).
        "control_socket_disable": True,
        "when_ready": _announce(bind, server, settings),
    }


def _announce(bind: str, server: ServerSettings, settings: Settings) -> Any:
    def when_ready(arbiter: Any) -> None:
        arbiter.log.info(
            "riskassess serving at %s: %d worker(s) x %d thread(s), timeout %d s",
            bind,
            server.workers,
            server.threads,
            server.timeout,
        )
        if server.workers > 1 and settings.redis_url is None:
            arbiter.log.warning(
                "Failed logins are counted in each worker's memory (no RISKASSESS_REDIS_URL), "
                "so each of the %d workers allows the limit on its own; set "
                "RISKASSESS_REDIS_URL to count them together.",
                server.workers,
            )

    return when_ready


class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(self.settings)
