from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from riskassess.accounts import administration, services
from riskassess.accounts.forms import LanguageForm, LoginForm, LogoutForm, ResetForm
from riskassess.accounts.sessions import rotate_session
from riskassess.accounts.throttle import mark_failed, throttle_login
from riskassess.core.permissions import Permission, Role
from riskassess.errors import DomainError
from riskassess.training.seed import DEMO_PASSWORD, DEMO_USERS, UNITS
from riskassess.web import db, public, require, state, user

bp = Blueprint("accounts", __name__)

HOME_BY_ROLE = {
    Role.CASEWORKER: "cases.list_cases",
    Role.SUPERVISOR: "assessments.review_queue",
    Role.TRAINER: "instruments.list_instruments",
    Role.ADMIN: "accounts.list_users",
    Role.AUDITOR: "audit_log.search",
}


@bp.get("/")
@public
def index() -> Response:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return redirect(url_for(HOME_BY_ROLE[Role(user().role)]))


@bp.route("/login", methods=["GET", "POST"])
@throttle_login
@public
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.index"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        found = services.authenticate(
            db(), state().passwords, form.username.data or "", form.password.data or ""
        )
        if found is not None:
            session.clear()
            rotate_session()  # a new session id at every login
            login_user(found)
            return redirect(url_for("accounts.index"))
        mark_failed()
        error = _("Wrong username or password.")
    demo_logins = (
        [(name, role, UNITS.get(unit or "", "")) for name, role, unit, _n in DEMO_USERS]
        if state().settings.is_demo
        else []
    )
    return render_template(
        "accounts/login.html",
        form=form,
        error=error,
        demo_logins=demo_logins,
        demo_password=DEMO_PASSWORD,
    )


@bp.post("/logout")
@public
def logout() -> Response:
    if LogoutForm().validate_on_submit() and current_user.is_authenticated:
        services.record_logout(db(), user())
        logout_user()
        session.clear()
    return redirect(url_for("accounts.login"))


@bp.post("/logout/everywhere")
@require(Permission.SESSIONS_END)
def logout_everywhere() -> Response:
    """End the user's sessions on every device, this one included."""
    if not LogoutForm().validate_on_submit():
        abort(400)
    lang = session.get("lang")
    ended = services.end_sessions(db(), state().sessions, user().as_actor(), user())
    logout_user()
    session.clear()
    rotate_session()
    if lang:
        session["lang"] = lang
    flash(_("You are logged out on every device (%(count)s sessions).", count=ended), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/password/reset", methods=["GET", "POST"])
@throttle_login
@public
def reset_password() -> Response | str:
    """A new password with a one-time code from an administrator; every session of the user
    ends, and the user logs in anew."""
    form = ResetForm()
    error = None
    if form.validate_on_submit():
        try:
            found = administration.redeem_password_reset(
                db(),
                state().passwords,
                form.username.data or "",
                form.code.data or "",
                form.password.data or "",
            )
        except administration.ResetRefused as exc:
            mark_failed()
            error = _(exc.message)
        except DomainError as exc:
            error = _(exc.message)
        else:
            state().sessions.delete_for_user(str(found.id), db())
            logout_user()
            session.clear()
            flash(_("Your password is changed. Log in with it."), "success")
            return redirect(url_for("accounts.login"))
    elif form.is_submitted():
        error = _("Nothing was changed. Correct the marked fields.")
    return render_template("accounts/reset.html", form=form, error=error)


def _safe_return_path(target: str | None) -> str:
    """Only a path on this site; never an absolute URL from the request (open redirect)."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return url_for("accounts.index")
    return parts.path


@bp.post("/language")
@public
def set_language() -> Response:
    form = LanguageForm()
    if not form.validate_on_submit() or form.lang.data not in ("sv", "en"):
        abort(400)
    session["lang"] = form.lang.data
    return redirect(_safe_return_path(request.form.get("next")))


@bp.get("/admin/users")
@require(Permission.USER_LIST)
def list_users() -> str:
    return render_template("accounts/users.html", users=services.list_users(db()))
