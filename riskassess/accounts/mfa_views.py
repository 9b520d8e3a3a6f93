"""The second login factor in the browser: the code step of a login, enrolment (at login where
it is required, or from the account page), recovery codes, and an administrator's reset.

Between a right password and the code, the session holds only the user's id and when the
password was checked; the user is not logged in until the code passes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import login_user
from werkzeug.wrappers import Response

from riskassess.accounts import mfa, services
from riskassess.accounts.forms import CodeForm, ResetCodeForm
from riskassess.accounts.models import User
from riskassess.accounts.sessions import rotate_session
from riskassess.accounts.throttle import mark_failed, throttle_codes
from riskassess.core.permissions import Permission
from riskassess.errors import DomainError
from riskassess.web import AFTER_LOGIN, db, public, require, safe_return_path, state, user, vault

bp = Blueprint("mfa", __name__)
T = TypeVar("T")

PENDING = "mfa_pending"
PENDING_SECONDS = 5 * 60  # from the right password to the code


def needs_second_step(found: User) -> bool:
    return found.has_mfa or state().settings.mfa_required


def begin_second_step(found: User) -> Response:
    """After a right password: ask for the code, or set up the app first where it is required."""
    _fresh_session()
    session[PENDING] = {"user": str(found.id), "since": int(time.time())}
    return redirect(url_for("mfa.login_code" if found.has_mfa else "mfa.login_setup"))


def finish_login(found: User, second_factor: str) -> None:
    services.record_login(db(), found, second_factor)
    _fresh_session()
    login_user(found)


# What a session carries across login: the language chosen, and the page asked for.
KEPT_ACROSS_LOGIN = ("lang", AFTER_LOGIN)


def _fresh_session() -> None:
    """A new session under a new id (at each step of a login), keeping only what the user
    chose before logging in."""
    kept = {key: session[key] for key in KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    rotate_session()
    session.update(kept)


def landing_page() -> str:
    """Where a finished login goes: the page that sent the user to log in, if it was a page
    of this site, else the role's start page."""
    return safe_return_path(session.pop(AFTER_LOGIN, None))


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("since", 0)) > PENDING_SECONDS:
        session.pop(PENDING)
        return None
    return services.load_user(db(), str(pending.get("user")))


def _start_over() -> Response:
    flash(_("Log in again: the login was not finished in time."), "error")
    return redirect(url_for("accounts.login"))


def _with_code(work: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run a step that checks a code; a wrong code counts towards the throttle."""
    try:
        return work(), None
    except mfa.SecondFactorRefused as exc:
        mark_failed()
        return None, _(exc.message)
    except DomainError as exc:
        return None, _(exc.message)


def _qr_label() -> str:
    return str(_("QR code for the authenticator app"))


@bp.route("/login/code", methods=["GET", "POST"])
@throttle_codes
@public
def login_code() -> Response | str:
    found = _pending_user()
    if found is None or not found.has_mfa:
        return _start_over()
    form, error = CodeForm(), None
    if form.validate_on_submit():
        code = form.code.data or ""
        used, error = _with_code(lambda: mfa.check_second_factor(db(), vault(), found, code))
        if used is None:
            services.record_second_factor_failure(db(), found)
        else:
            finish_login(found, used)
            if used == "recovery":
                left = mfa.unused_recovery_codes(db(), found)
                flash(
                    _(
                        "You logged in with a recovery code; %(count)s are left. Make new ones "
                        "under “Two-step login”.",
                        count=left,
                    ),
                    "warning",
                )
            return redirect(landing_page())
    return render_template("accounts/mfa_code.html", form=form, error=error)


def _setup_page(who: User, form: CodeForm, error: str | None) -> str:
    enrolment = mfa.pending_enrolment(db(), vault(), who, _qr_label())
    return render_template("accounts/mfa_setup.html", form=form, error=error, enrolment=enrolment)


def _codes_page(codes: list[str], onward: str | None = None) -> str:
    """Shown once, in the response to the post that made them (never in a URL or a flash)."""
    return render_template(
        "accounts/mfa_codes.html", codes=codes, onward=onward or url_for("accounts.index")
    )


def _confirm(who: User, form: CodeForm) -> tuple[list[str] | None, str | None]:
    code = form.code.data or ""
    return _with_code(lambda: mfa.confirm_enrolment(db(), vault(), who, code))


@bp.route("/login/setup", methods=["GET", "POST"])
@throttle_codes
@public
def login_setup() -> Response | str:
    """Enrolment during a login, where two-step login is required and not yet set up."""
    found = _pending_user()
    if found is None or found.has_mfa:
        return _start_over()
    form, error = CodeForm(), None
    if form.validate_on_submit():
        codes, error = _confirm(found, form)
        if codes is not None:
            finish_login(found, "totp")
            return _codes_page(codes, landing_page())
    return _setup_page(found, form, error)


@bp.get("/account/mfa")
@require(Permission.MFA_OWN)
def account() -> str:
    me = user()
    return render_template(
        "accounts/mfa_account.html",
        unused=mfa.unused_recovery_codes(db(), me) if me.has_mfa else 0,
        required=state().settings.mfa_required,
        renew_form=CodeForm(prefix="renew"),
        off_form=CodeForm(prefix="off"),
    )


@bp.route("/account/mfa/setup", methods=["GET", "POST"])
@throttle_codes
@require(Permission.MFA_OWN)
def account_setup() -> Response | str:
    me = user()
    if me.has_mfa:
        return redirect(url_for("mfa.account"))
    form, error = CodeForm(), None
    if form.validate_on_submit():
        codes, error = _confirm(me, form)
        if codes is not None:
            return _codes_page(codes)
    return _setup_page(me, form, error)


def _account_step(form: CodeForm, work: Callable[[str], T]) -> T | None:
    """A change on the account page that needs a current code; problems go back as messages."""
    if not form.validate_on_submit():
        flash(_("Type the code from the app."), "error")
        return None
    code = form.code.data or ""
    done, error = _with_code(lambda: work(code))
    if error:
        flash(error, "error")
    return done


@bp.post("/account/mfa/recovery")
@throttle_codes
@require(Permission.MFA_OWN)
def renew_codes() -> Response | str:
    codes = _account_step(
        CodeForm(prefix="renew"), lambda code: mfa.renew_recovery_codes(db(), vault(), user(), code)
    )
    return redirect(url_for("mfa.account")) if codes is None else _codes_page(codes)


@bp.post("/account/mfa/off")
@throttle_codes
@require(Permission.MFA_OWN)
def turn_off() -> Response:
    if state().settings.mfa_required:
        flash(_("Two-step login is required here and cannot be turned off."), "error")
    elif _account_step(
        CodeForm(prefix="off"), lambda code: mfa.turn_off(db(), vault(), user(), code)
    ):
        flash(_("Two-step login is turned off."), "success")
    return redirect(url_for("mfa.account"))


@bp.post("/admin/users/<uuid:user_id>/mfa")
@require(Permission.USER_MANAGE)
def reset_user(user_id: uuid.UUID) -> Response:
    """For a lost phone: the user sets up the app again at the next login."""
    target = db().get(User, user_id)
    if target is None:
        abort(404)
    if not ResetCodeForm().validate_on_submit():
        abort(400)
    if target.id == user().id:
        flash(_("Another administrator must change your own account."), "error")
    else:
        mfa.reset(db(), user().as_actor(), target)
        services.end_sessions(db(), state().sessions, user().as_actor(), target)
        flash(_("Two-step login is reset; the user sets it up at the next login."), "success")
    return redirect(url_for("accounts.show_user", user_id=target.id))
