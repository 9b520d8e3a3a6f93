from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from riskassess.accounts import administration, policy, raters, services
from riskassess.accounts.forms import (
    ROLE_LABELS,
    LanguageForm,
    LoginForm,
    LogoutForm,
    ResetCodeForm,
    ResetForm,
    TrainingForm,
    TrainingRemoveForm,
    UnitForm,
    UnitRenameForm,
    UnitRetireForm,
    UserCreateForm,
    UserExpiryForm,
    UserRoleForm,
    UserStateForm,
)
from riskassess.accounts.mfa_views import (
    begin_second_step,
    finish_login,
    landing_page,
    needs_second_step,
)
from riskassess.accounts.models import RaterTraining, Unit, User
from riskassess.accounts.sessions import rotate_session
from riskassess.accounts.throttle import mark_failed, throttle_login
from riskassess.core import audit
from riskassess.core.permissions import Permission, Role, role_has
from riskassess.errors import N_, DomainError
from riskassess.training.seed import DEMO_PASSWORD, DEMO_USERS, UNITS
from riskassess.web import db, locale, public, require, safe_return_path, state, user

bp = Blueprint("accounts", __name__)

HOME_BY_ROLE = {
    Role.CASEWORKER: "cases.list_cases",
    Role.SUPERVISOR: "assessments.review_queue",
    Role.TRAINER: "instruments.list_instruments",
    Role.ADMIN: "accounts.list_users",
    Role.AUDITOR: "audit_log.search",
    Role.MANAGER: "reports.statistics",
}


@bp.get("/")
@public
def index() -> Response:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if user().role == Role.TRAINER and state().settings.is_demo:
        return redirect(url_for("training.courses_overview"))  # courses exist in the demo only
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
            if needs_second_step(found):
                return begin_second_step(found)
            finish_login(found, "none")
            return redirect(landing_page())
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


@bp.post("/language")
@public
def set_language() -> Response:
    form = LanguageForm()
    if not form.validate_on_submit() or form.lang.data not in ("sv", "en"):
        abort(400)
    session["lang"] = form.lang.data
    return redirect(safe_return_path(request.form.get("next")))


@bp.get("/admin/users")
@require(Permission.USER_LIST)
def list_users() -> str:
    return render_template("accounts/users.html", users=services.list_users(db()))


def _target(user_id: uuid.UUID) -> User:
    found = db().get(User, user_id)
    if found is None:
        abort(404)
    return found


def _units() -> list[Unit]:
    return list(db().scalars(select(Unit).where(Unit.retired_dt.is_(None)).order_by(Unit.code)))


def _role_choices() -> tuple[list[SelectChoice], list[SelectChoice]]:
    roles = [SelectChoice(r.value, ROLE_LABELS[r.value]) for r in Role]
    return roles, [SelectChoice(str(u.id), f"{u.name} ({u.code})") for u in _units()]


def _chosen_unit(form: UserRoleForm) -> Unit | None:
    return db().get(Unit, uuid.UUID(form.unit.data)) if form.unit.data else None


def _role_form(target: User) -> UserRoleForm:
    form = UserRoleForm(*_role_choices())
    if not form.role.raw_data:  # not this form's own post: show the account as it is
        form.role.data, form.unit.data = target.role, str(target.unit_id or "")
    return form


def _user_page(target: User, code: tuple[str, datetime] | None = None, **forms: Any) -> str:
    expiry = forms.pop("expiry_form", None) or UserExpiryForm(data={"last_day": target.expires_on})
    return render_template(
        "accounts/user.html",
        target=target,
        role_form=forms.pop("role_form", None) or _role_form(target),
        state_form=UserStateForm(data={"enabled": "0" if target.is_enabled else "1"}),
        expiry_form=expiry,
        reset_form=ResetCodeForm(),
        code=code,
        created=forms.pop("created", False),
        is_self=target.id == user().id,
        trainings=raters.trainings_of(db(), [target.id])[target.id],
        training_form=forms.pop("training_form", None) or _training_form(formdata=None),
        training_remove_form=TrainingRemoveForm(formdata=None),
        may_manage_training=policy.can_manage_training(user(), target),
        instrument_names=instrument_names(),
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@require(Permission.USER_MANAGE)
def create_user() -> str | tuple[str, int]:
    """The new user chooses the password with a one-time code shown here once."""
    form = UserCreateForm(*_role_choices())
    error = None
    if form.validate_on_submit():
        try:
            created, code, expires = administration.create_account(
                db(),
                state().passwords,
                user().as_actor(),
                username=form.username.data or "",
                display_name=form.display_name.data or "",
                role=form.role.data or "",
                unit=_chosen_unit(form),
            )
        except DomainError as exc:
            error = _(exc.message)
        else:
            return _user_page(created, code=(code, expires), created=True)
    elif form.is_submitted():
        error = _("Nothing was changed. Correct the marked fields.")
    status = 400 if error else 200
    return render_template("accounts/user_new.html", form=form, error=error), status


@bp.get("/admin/users/<uuid:user_id>")
@require(Permission.USER_MANAGE)
def show_user(user_id: uuid.UUID) -> str:
    return _user_page(_target(user_id))


def _done(target: User, work: Callable[[], None], message: str) -> Response:
    try:
        work()
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(message, "success")
    return redirect(url_for("accounts.show_user", user_id=target.id))


def _not_yourself(target: User) -> None:
    """An administrator cannot lock themselves out: another administrator does that."""
    if target.id == user().id:
        raise DomainError(N_("Another administrator must change your own account."))


@bp.post("/admin/users/<uuid:user_id>/role")
@require(Permission.USER_MANAGE)
def set_user_role(user_id: uuid.UUID) -> Response | tuple[str, int]:
    target = _target(user_id)
    form = _role_form(target)
    if not form.validate_on_submit():
        return _user_page(target, role_form=form), 400
    unit = _chosen_unit(form)

    def work() -> None:
        _not_yourself(target)
        administration.set_role(db(), user().as_actor(), target, form.role.data or "", unit)

    return _done(target, work, _("The role and unit are saved."))


@bp.post("/admin/users/<uuid:user_id>/state")
@require(Permission.USER_MANAGE)
def set_user_state(user_id: uuid.UUID) -> Response:
    target = _target(user_id)
    form = UserStateForm()
    if not form.validate_on_submit():
        abort(400)

    def work() -> None:
        _not_yourself(target)
        administration.set_enabled(db(), user().as_actor(), target, form.enabled.data == "1")

    return _done(target, work, _("The account is saved."))


@bp.post("/admin/users/<uuid:user_id>/expiry")
@require(Permission.USER_MANAGE)
def set_user_expiry(user_id: uuid.UUID) -> Response | tuple[str, int]:
    target = _target(user_id)
    form = UserExpiryForm()
    if not form.validate_on_submit():
        return _user_page(target, expiry_form=form), 400

    def work() -> None:
        _not_yourself(target)
        administration.set_expiry(db(), user().as_actor(), target, form.last_day.data)

    return _done(target, work, _("The end date is saved."))


@bp.post("/admin/users/<uuid:user_id>/reset")
@require(Permission.USER_MANAGE)
def issue_reset_code(user_id: uuid.UUID) -> str:
    """The code is shown on this page once (never in a URL, a redirect or a flash)."""
    target = _target(user_id)
    if not ResetCodeForm().validate_on_submit():
        abort(400)
    code = administration.issue_password_reset(db(), user().as_actor(), target)
    return _user_page(target, code=code)


@bp.route("/admin/units", methods=["GET", "POST"])
@require(Permission.USER_MANAGE)
def units() -> Response | str:
    form = UnitForm()
    if form.validate_on_submit():
        try:
            services.create_unit(
                db(), user().as_actor(), form.code.data or "", form.name.data or ""
            )
        except DomainError as exc:
            flash(_(exc.message), "error")
        else:
            flash(_("The unit is created."), "success")
            return redirect(url_for("accounts.units"))
    rows = administration.unit_overview(db())
    return render_template(
        "accounts/units.html",
        form=form,
        rows=rows,
        rename_form=UnitRenameForm(formdata=None),
        retire_form=UnitRetireForm(),
    )


def _unit(unit_id: uuid.UUID) -> Unit:
    found = db().get(Unit, unit_id)
    if found is None:
        abort(404)
    return found


@bp.post("/admin/units/<uuid:unit_id>/rename")
@require(Permission.USER_MANAGE)
def rename_unit(unit_id: uuid.UUID) -> Response:
    unit, form = _unit(unit_id), UnitRenameForm()
    if not form.validate_on_submit():
        flash(_("A unit needs a name."), "error")
        return redirect(url_for("accounts.units"))
    administration.rename_unit(db(), user().as_actor(), unit, form.name.data or "")
    flash(_("The unit is renamed."), "success")
    return redirect(url_for("accounts.units"))


@bp.post("/admin/units/<uuid:unit_id>/retire")
@require(Permission.USER_MANAGE)
def retire_unit(unit_id: uuid.UUID) -> Response:
    unit = _unit(unit_id)
    if not UnitRetireForm().validate_on_submit():
        abort(400)
    try:
        administration.retire_unit(db(), user().as_actor(), unit)
    except DomainError as exc:
        flash(_(exc.message), "error")
    else:
        flash(_("The unit is retired."), "success")
    return redirect(url_for("accounts.units"))


def instrument_names() -> dict[str, str]:
    """Each installed instrument's id with the title of its latest version, in the page's
    language (a training covers every version of an instrument)."""
    return {i.id: i.title.get(locale()) for i in state().instruments.all()}


def _training_form(**kwargs: Any) -> TrainingForm:
    choices = [SelectChoice(key, name) for key, name in instrument_names().items()]
    return TrainingForm(choices, **kwargs)


def _staff_page(failed: tuple[uuid.UUID, TrainingForm] | None = None) -> str:
    """The register of trained raters for the staff the viewer may manage: a supervisor's own
    unit, or every unit for an administrator."""
    viewer = user()
    every_unit = role_has(viewer.role, Permission.USER_MANAGE)
    groups = (
        raters.staff_trainings(db(), None if every_unit else viewer.unit_id)
        if every_unit or viewer.unit_id is not None
        else []
    )
    forms = {
        member.user.id: failed[1]
        if failed is not None and failed[0] == member.user.id
        else _training_form(formdata=None)
        for _unit, members in groups
        for member in members
    }
    return render_template(
        "accounts/staff_trainings.html",
        groups=groups,
        forms=forms,
        remove_form=TrainingRemoveForm(formdata=None),
        may_manage={
            member.user.id: policy.can_manage_training(viewer, member.user)
            for _unit, members in groups
            for member in members
        },
        instrument_names=instrument_names(),
    )


@bp.get("/staff/trainings")
@require(Permission.TRAINING_MANAGE)
def staff_trainings() -> str:
    return _staff_page()


def _authorize_training(target: User, action: str) -> None:
    """Only an administrator, or the supervisor of the target's unit, and never for oneself;
    a refusal is audited."""
    if not policy.can_manage_training(user(), target):
        audit.append_denial(db(), user().as_actor(), action, "user", target.id)
        abort(403)


def _back_to(target: User, page: str | None) -> Response:
    """The page the training form was on: an administrator's user page, or the staff's."""
    if page != "staff" and role_has(user().role, Permission.USER_MANAGE):
        return redirect(url_for("accounts.show_user", user_id=target.id))
    return redirect(url_for("accounts.staff_trainings", _anchor=f"user-{target.id}"))


def _training_refused(target: User, form: TrainingForm) -> tuple[str, int]:
    """The page again with the form as it was posted and what is wrong with it, said at the
    top of the page too (the form may be far down)."""
    flash(
        form.form_errors[0]
        if form.form_errors
        else _("Nothing was saved. Correct the marked fields."),
        "error",
    )
    if form.back.data != "staff" and role_has(user().role, Permission.USER_MANAGE):
        return _user_page(target, training_form=form), 400
    return _staff_page(failed=(target.id, form)), 400


@bp.post("/users/<uuid:user_id>/trainings")
@require(Permission.TRAINING_MANAGE)
def add_training(user_id: uuid.UUID) -> Response | tuple[str, int]:
    target = _target(user_id)
    _authorize_training(target, "account:training:record")
    form = _training_form()
    if not form.validate_on_submit():
        return _training_refused(target, form)
    try:
        raters.record_training(
            db(),
            user().as_actor(),
            target,
            form.instrument.data or "",
            form.trained_on.data or date.min,
            form.course.data or "",
            instrument_names().keys(),
        )
    except DomainError as exc:
        form.form_errors.append(_(exc.message))
        return _training_refused(target, form)
    flash(_("The training is registered."), "success")
    return _back_to(target, form.back.data)


@bp.post("/trainings/<uuid:training_id>/remove")
@require(Permission.TRAINING_MANAGE)
def remove_training(training_id: uuid.UUID) -> Response:
    training = db().get(RaterTraining, training_id)
    if training is None:
        abort(404)
    target = _target(training.user_id)
    _authorize_training(target, "account:training:remove")
    form = TrainingRemoveForm()
    if not form.validate_on_submit():
        abort(400)
    raters.remove_training(db(), user().as_actor(), training)
    flash(_("The training is removed from the register."), "success")
    return _back_to(target, form.back.data)
