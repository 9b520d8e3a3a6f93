"""Forms of the audit views. They only parse and validate; filters carry ids, dates and the
pseudonymous case number, never a name, so they may travel in a URL."""

from __future__ import annotations

import re
from typing import Any

from wtforms import (
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from riskassess.accounts.models import User
from riskassess.audit_log.models import CheckOutcome
from riskassess.audit_log.services import SAMPLE_MAX
from riskassess.core.permissions import Permission
from riskassess.forms import BaseForm
from riskassess.i18n import lazy_gettext as _l

CASE_NUMBER = re.compile(r"RA-[A-Z0-9]{7}\Z")

# How people read the action tags; the filter offers these and the permission names (refusals
# are logged under the permission asked for). A tag not listed is shown as it is. The list is
# static because SELECT DISTINCT over a log of millions of entries is too slow for every page.
ACTION_LABELS = {
    "training:course:create": _l("Created a course session"),
    "training:course:reveal": _l("Revealed a course session's results"),
    "training:course:close": _l("Closed a course session"),
    "training:course:reopen": _l("Reopened a course session"),
    "training:course:delete": _l("Deleted a course session and its ratings"),
    "training:course:export": _l("Exported a course session's results"),
    "training:course:manage": _l("Ran course sessions"),
    "training:participant:join": _l("Joined a course session"),
    "account:session:login": _l("Logged in"),
    "account:session:logout": _l("Logged out"),
    "account:session:revoke": _l("Ended all sessions of a user"),
    "account:user:unlock": _l("Unlocked an account after failed logins"),
    "account:training:record": _l("Registered a rater's training"),
    "account:training:remove": _l("Removed a rater's training from the register"),
    "admin:unit:create": _l("Created a unit"),
    "admin:unit:rename": _l("Renamed a unit"),
    "admin:unit:retire": _l("Retired a unit"),
    "admin:user:update": _l("Changed a user account"),
    "admin:user:reset": _l("Issued a password reset code"),
    "admin:user:mfa_reset": _l("Reset a user's two-step login"),
    "account:mfa:begin": _l("Started setting up two-step login"),
    "account:mfa:enrol": _l("Turned on two-step login"),
    "account:mfa:recovery": _l("Made new recovery codes"),
    "account:mfa:remove": _l("Turned off two-step login"),
    "account:mfa:update": _l("Two-step login settings"),
    "account:password:reset": _l("Chose a new password with a reset code"),
    "admin:user:create": _l("Created a user account"),
    "admin:user:list": _l("Listed the user accounts"),
    "admin:database:restore": _l("Restored the database from a backup"),
    "case:assessment_feedback:create": _l("Recorded feedback of an assessment to the family"),
    "report:statistics:read": _l("Viewed follow-up statistics"),
    "report:statistics:export": _l("Exported follow-up statistics"),
    "report:facts:rebuild": _l("Rebuilt the facts for follow-up statistics"),
    "case:case:create": _l("Created a case"),
    "case:case:list": _l("Listed the unit's cases"),
    "case:case:read": _l("Opened a case"),
    "case:case:emergency": _l("Emergency access to a case"),
    "case:case:search": _l("Searched for a case"),
    "case:case:close": _l("Closed a case"),
    "case:case:protect": _l("Changed a case's protected identity"),
    "case:case:delete": _l("Deleted a case (gallring)"),
    "case:case:reopen": _l("Reopened a closed case (the child came back)"),
    "case:case:merge": _l("Merged duplicate cases"),
    "case:duplicate:list": _l("Listed the unit's duplicate cases"),
    "case:transfer:request": _l("Asked another unit for a case"),
    "case:transfer:accept": _l("Accepted a transfer of a case"),
    "case:transfer:decline": _l("Declined a transfer of a case"),
    "case:transfer:decide": _l("Decided on a transfer of a case"),
    "case:identity:reveal": _l("Viewed a protected identity"),
    "case:access:review": _l("Reviewed an emergency access"),
    "case:register_extract:create": _l("Made a register extract (GDPR art. 15)"),
    "admin:information_text:update": _l("Changed the information text for children and guardians"),
    "case:retention:hold": _l("Held a case from gallring"),
    "case:retention:release": _l("Released a gallring hold"),
    "case:retention:run": _l("Ran gallring"),
    "case:assessment:create": _l("Started an assessment"),
    "case:assessment:read": _l("Opened an assessment"),
    "case:assessment:update": _l("Saved an assessment"),
    "case:assessment:submit": _l("Submitted an assessment for review"),
    "case:assessment:approve": _l("Approved an assessment"),
    "case:assessment:return": _l("Returned an assessment"),
    "case:assessment:print": _l("Printed an assessment"),
    "case:assessment:withdraw": _l("Withdrew an assessment"),
    "case:assessment:correct": _l("Started a correction of an assessment"),
    "case:assessment:supersede": _l("Superseded an assessment"),
    "case:assessment:compare": _l("Compared assessments"),
    "case:assessment:list": _l("Listed the assessments to review"),
    "case:assessment:sign": _l("Confirmed a decision with the password"),
    "crypto:kek:create": _l("Created a key-encryption key"),
    "crypto:kek:stage": _l("Staged a key-encryption key"),
    "crypto:kek:activate": _l("Activated a key-encryption key"),
    "crypto:kek:retire": _l("Retired a key-encryption key"),
    "crypto:data_key:rewrap": _l("Re-wrapped data keys"),
    "crypto:data_key:destroy": _l("Destroyed a case's data key"),
    "crypto:data_key:unwrap": _l("A data key did not unwrap"),
    "crypto:value:decrypt": _l("A stored value did not decrypt"),
    "audit:log:read": _l("Read the audit log"),
    "audit:log:export": _l("Exported the audit log"),
    "audit:case_log:read": _l("Read a case's access log"),
    "audit:sample:create": _l("Drew a sample check"),
    "audit:sample:read": _l("Opened a sample check"),
    "audit:sample:review": _l("Recorded a sample check finding"),
    "audit:log:checkpoint": _l("Signed a checkpoint of the log"),
    "audit:log:prune": _l("Removed an old year of the log"),
    "audit:signing_key:create": _l("Created the log's signing key"),
    "case:case:assign": _l("Assigned a case to a caseworker"),
    "case:follow_up:list": _l("Listed the follow-ups due"),
    "case:follow_up:done": _l("Marked a follow-up as done"),
    # Permission names: a refusal at a route is logged under the permission it asked for.
    "case:assessment:edit": _l("Edit an assessment (permission)"),
    "case:assessment:review": _l("Review an assessment (permission)"),
    "instrument:definition:read": _l("Read the instruments (permission)"),
    "account:training:manage": _l("Manage the register of trained raters (permission)"),
}


def action_label(tag: str) -> Any:
    return ACTION_LABELS.get(tag, tag)


def _check_period(form: Any) -> None:
    start, end = form.date_from.data, form.date_to.data
    if start is not None and end is not None and end < start:
        raise ValidationError(_l("The end date is before the start date."))


class _LogFilterFields(BaseForm):
    user = SelectField(_l("User"), choices=[], validate_choice=True, default="")
    case = StringField(
        _l("Case number"),
        description=_l("For example RA-ABC2345"),
        validators=[Optional(), Length(max=20)],
        filters=[lambda v: (v or "").strip().upper() or None],
    )
    action = SelectField(_l("Event"), choices=[], validate_choice=True, default="")
    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date)"), validators=[Optional()])

    def set_choices(self, users: list[User]) -> None:
        self.user.choices = [SelectChoice("", _l("All users"))] + [
            SelectChoice(str(u.id), f"{u.display_name} ({u.username})") for u in users
        ]
        tags = sorted(set(ACTION_LABELS) | {p.value for p in Permission})
        self.action.choices = [SelectChoice("", _l("All events"))] + [
            SelectChoice(tag, f"{action_label(tag)} ({tag})") for tag in tags
        ]

    def validate_case(self, field: Any) -> None:
        if field.data and not CASE_NUMBER.match(field.data):
            raise ValidationError(_l("A case number looks like RA-ABC2345."))

    def validate_date_to(self, _field: Any) -> None:
        _check_period(self)


class LogFilterForm(_LogFilterFields):
    """The auditor's filter. A GET search that changes nothing, so it carries no CSRF token
    (a token in the URL would end up in server logs); the export form has one."""

    class Meta:
        csrf = False


class LogExportForm(_LogFilterFields):
    """The same filter, posted with the usual CSRF token: an export is logged, so it is an
    action another site must not trigger."""


class PeriodForm(BaseForm):
    """The period of the unusual-access report (GET, changes nothing)."""

    class Meta:
        csrf = False

    date_from = DateField(_l("From (date)"), validators=[Optional()])
    date_to = DateField(_l("To (date)"), validators=[Optional()])

    def validate_date_to(self, _field: Any) -> None:
        _check_period(self)


class SampleForm(BaseForm):
    date_from = DateField(_l("From (date)"), validators=[InputRequired()])
    date_to = DateField(_l("To (date)"), validators=[InputRequired()])
    size = IntegerField(
        _l("Number of entries"),
        default=20,
        validators=[
            InputRequired(),
            NumberRange(min=1, max=SAMPLE_MAX, message=_l("Choose between 1 and 100 entries.")),
        ],
    )

    def validate_date_to(self, _field: Any) -> None:
        _check_period(self)


class CheckForm(BaseForm):
    outcome = RadioField(
        _l("Finding"),
        choices=[
            SelectChoice(CheckOutcome.OK, _l("The access was justified")),
            SelectChoice(CheckOutcome.FOLLOW_UP, _l("Needs follow-up")),
        ],
        validators=[InputRequired(message=_l("Choose a finding."))],
    )
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Required for follow-up. Do not write the child's name."),
        validators=[Length(max=2000)],
    )

    def validate_comment(self, field: Any) -> None:
        if self.outcome.data == CheckOutcome.FOLLOW_UP and not (field.data or "").strip():
            raise ValidationError(_l("Describe what needs to be followed up."))
