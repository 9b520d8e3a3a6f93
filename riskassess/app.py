"""The application factory: settings -> instruments, keyring, database -> extensions -> blueprints.

Nothing happens at import. A broken instrument file (in demo mode also a broken training
vignette), a missing keyring, a keyring that does not unwrap this database's data keys, or a
database of the other mode stops create_app with an exception whose message is meant for the
operator.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request, session
from flask_babel import Babel, gettext
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.middleware.proxy_fix import ProxyFix

from riskassess.accounts.forms import ROLE_LABELS
from riskassess.accounts.passwords import Passwords
from riskassess.accounts.services import ANONYMOUS
from riskassess.accounts.sessions import make_session_store, session_interface
from riskassess.accounts.throttle import THROTTLED_ACTIONS, init_throttle
from riskassess.assessments.followup import work_state
from riskassess.config import PROJECT_ROOT, Settings, check_settings, load_settings
from riskassess.core import audit
from riskassess.core.audit import install_deferred_appends
from riskassess.core.db import make_engine, make_session_factory
from riskassess.core.installation import check_mode
from riskassess.core.keys import KeyringFile, UnreadableData, check_keyring
from riskassess.formatting import format_day, format_moment
from riskassess.health import init_health
from riskassess.i18n import install_page_gettext
from riskassess.i18n import lazy_gettext as _l
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import load_directories
from riskassess.instruments.services import check_recorded_versions
from riskassess.logs import install_request_log
from riskassess.training.vignettes import VignetteRegistry, load_vignettes
from riskassess.web import (
    EXTENSION,
    AppState,
    ClosedCaseForbidden,
    db,
    install_commit_point,
    instrument_of,
    rollback_request,
    state,
    unreadable_data_page,
    user,
)

LOCALES = ("sv", "en")
PACKAGE = PROJECT_ROOT / "riskassess"


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LOCALES else "sv"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    check_settings(settings)
    instruments = load_directories(settings.instruments_dirs)
    # Training exists in demo mode only: production never reads a vignette.
    vignettes = (
        load_vignettes(settings.vignettes_dirs, instruments)
        if settings.is_demo
        else VignetteRegistry()
    )
    keyring_file = KeyringFile(settings.keyring_path)
    engine = make_engine(settings.database_url)
    try:
        check_mode(engine, settings.mode)
        check_recorded_versions(engine, instruments)
        with Session(engine) as session:
            check_keyring(session, keyring_file.current(), settings.keyring_path)
    finally:
        # No connection stays open from start-up: an app created before a server forks its
        # workers (gunicorn --preload) then shares no database connection with them.
        engine.dispose()

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PACKAGE / "static"),
        instance_path=str(settings.instance_path),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_urlsafe(32),
        DEBUG=settings.debug,  # not FLASK_DEBUG behind the settings' back
        TESTING=settings.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the login session
        BABEL_DEFAULT_LOCALE="sv",
        # Times are stored in UTC and shown in Swedish time; audit filters follow the same zone.
        BABEL_DEFAULT_TIMEZONE="Europe/Stockholm",
        BABEL_TRANSLATION_DIRECTORIES=str(PACKAGE / "translations"),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    session_factory = make_session_factory(engine)
    install_deferred_appends(session_factory)
    sessions = make_session_store(settings, session_factory)
    app.session_interface = session_interface(
        sessions, settings.session_idle_minutes, settings.session_max_hours
    )
    app.extensions[EXTENSION] = AppState(
        settings=settings,
        session_factory=session_factory,
        keyring_file=keyring_file,
        instruments=instruments,
        passwords=Passwords(settings.password_time_cost, settings.password_memory_kib),
        sessions=sessions,
        vignettes=vignettes,
    )
    Babel(app, locale_selector=select_locale)
    install_page_gettext(app)
    CSRFProtect(app)
    init_throttle(app, settings)
    _init_login(app)
    install_commit_point(app)
    _register_blueprints(app)
    init_health(app, settings.database_url, engine)
    _register_error_pages(app)
    app.after_request(_security_headers)
    app.context_processor(_template_globals)
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    install_request_log(app)
    # Every date and time on a page goes through these two: one format per language.
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment
    return app


def _init_login(app: Flask) -> None:
    from riskassess.accounts.services import load_user

    manager = LoginManager(app)
    manager.login_view = "accounts.login"
    manager.session_protection = "strong"

    @manager.user_loader  # type: ignore[untyped-decorator]  # flask-login ships no hints
    def _load(user_id: str) -> Any:
        stored = getattr(session, "stored", None)  # the login session, read with its user
        return load_user(db(), user_id, getattr(stored, "user_row", None))


def _register_blueprints(app: Flask) -> None:
    from riskassess.accounts.mfa_views import bp as mfa
    from riskassess.accounts.views import bp as accounts
    from riskassess.assessments.followup_views import bp as followups
    from riskassess.assessments.record_views import bp as record
    from riskassess.assessments.views import bp as assessments
    from riskassess.audit_log.views import bp as audit_log
    from riskassess.cases.views import bp as cases
    from riskassess.instruments.views import bp as instruments
    from riskassess.reports.views import bp as reports
    from riskassess.rights.views import bp as rights
    from riskassess.training.views import bp as training

    blueprints = (
        accounts,
        mfa,
        cases,
        assessments,
        record,
        followups,
        instruments,
        training,
        rights,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    app.register_blueprint(audit_log)
    app.register_blueprint(reports)


def _error_page(code: int, **context: Any) -> tuple[str, int]:
    """An error page. The request's transaction is rolled back first: nothing of a failed
    request is kept, and a session left broken by a failed flush can load the page's user."""
    rollback_request()
    return render_template("errors/error.html", code=code, **context), code


def _register_error_pages(app: Flask) -> None:
    def page(code: int) -> Any:
        return lambda _error: _error_page(code)

    for code in (400, 403, 404, 405, 409, 413, 500):
        app.register_error_handler(code, page(code))
    app.register_error_handler(
        ClosedCaseForbidden, lambda _error: _error_page(403, closed_case=True)
    )

    def too_many_attempts(_error: Exception) -> tuple[str, int]:
        # The refused attempt is audited like a refusal: kept though the request rolls back.
        actor = user().as_actor() if current_user.is_authenticated else ANONYMOUS
        audit.append(
            db(),
            actor,
            THROTTLED_ACTIONS.get(request.endpoint or "", "account:session:login"),
            outcome=audit.Outcome.DENIED,
            details={"throttled": True},
            keep_on_rollback=True,
        )
        return _error_page(429)

    app.register_error_handler(429, too_many_attempts)

    def csrf_failed(_error: CSRFError) -> tuple[str, int]:
        return _error_page(400, csrf=True)

    def changed_meanwhile(_error: StaleDataError) -> tuple[str, int]:
        # A row changed by another request between this one's read and its write (PostgreSQL
        # lets both read it). The services say so in their own words where they expect it.
        return _error_page(409)

    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(StaleDataError, changed_meanwhile)
    app.register_error_handler(UnreadableData, unreadable_data_page)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    if current_app.config["SESSION_COOKIE_SECURE"]:
        # Production is served over TLS only (at the reverse proxy): browsers must not try
        # plain http, where a session cookie could be taken.
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Same-origin requests carry the Referer: over HTTPS Flask-WTF refuses a form post without
    # one (its strict referrer check), so "no-referrer" would refuse every form behind TLS.
    # Other sites still get nothing.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint != "static":
        # Pages may show case data: never keep them in a browser or proxy cache.
        response.headers["Cache-Control"] = "no-store"
    return response


STATE_LABELS = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned"),
    "approved": _l("Approved"),
    "superseded": _l("Superseded"),
    "withdrawn": _l("Withdrawn"),
    # Not a stored state: an approved assessment whose reassessment date has come.
    "due": _l("Due for reassessment"),
}


DECISION_LABELS = {
    "approve": _l("Approved and signed"),
    "return": _l("Returned"),
    "withdraw": _l("Withdrawn"),
}
KIND_LABELS = {
    "initial": _l("First assessment"),
    "reassessment": _l("Reassessment"),
    "correction": _l("Correction"),
}


def instrument_name(made_with: Any) -> str:
    """An instrument version as staff read it: its title and version ("SAVRY-liknande ...,
    version 1.0"), never the technical id. For an assessment, the exact version it was made
    with, from the database if its file has since changed or gone."""
    is_instrument = isinstance(made_with, Instrument)
    key = made_with.content_hash if is_instrument else made_with.instrument_hash
    names: dict[str, str] = g.setdefault("instrument_names", {})  # a list names a few, often
    if key not in names:
        instrument = made_with if is_instrument else instrument_of(made_with)
        names[key] = str(
            gettext(
                "%(title)s, version %(version)s",
                title=instrument.title.get(select_locale()),
                version=instrument.version,
            )
        )
    return names[key]


def _template_globals() -> dict[str, Any]:
    from riskassess.assessments.forms import RECORD_LABELS, SOURCE_LABELS
    from riskassess.assessments.views import assessment_links
    from riskassess.cases.forms import PURPOSE_LABELS

    return {
        "assessment_links": assessment_links,
        "purpose_label": lambda code: PURPOSE_LABELS.get(code, code),
        "source_label": lambda code: SOURCE_LABELS.get(code, code),
        "record_label": lambda group, code: RECORD_LABELS[group].get(code, code),
        "decision_label": lambda code: DECISION_LABELS.get(code, code),
        "kind_label": lambda code: KIND_LABELS.get(code, code),
        "is_demo": state().settings.is_demo,
        "current_locale": select_locale(),
        "role_label": lambda role: ROLE_LABELS.get(role, role),
        "state_label": lambda code: STATE_LABELS.get(code, code),
        "instrument_name": instrument_name,
        "work_state": work_state,
    }
