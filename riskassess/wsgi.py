"""The production app for any WSGI server: `gunicorn riskassess.wsgi:app`.

Importing this module creates the app from the environment (the one module with that side
effect, which is what a WSGI server imports it for), after the same checks as `riskassess
serve`; the app's log lines are JSON on stderr. A server that imports it in each worker
(gunicorn without --preload) gives each its own database engine; with --preload the app is
made before the fork, and create_app leaves no connection open for the workers to share.
"""

from __future__ import annotations

from riskassess.app import create_app
from riskassess.logs import install_json_logging
from riskassess.server import production_settings

install_json_logging()
app = create_app(production_settings())
