"""Assessment forms. The rating form is built at run time from the instrument definition, so a
new instrument needs a file, not code."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flask_babel import gettext
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    FormField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from riskassess.assessments.bbic import (
    SOURCE_KINDS,
    HeardView,
    Investigation,
    RiskSpecification,
    Source,
    Voices,
)
from riskassess.assessments.content import (
    CONFIRMED,
    OMITTED,
    SOURCES,
    Content,
    ItemRating,
    PlanEntry,
    previous_rating,
    same_text,
)
from riskassess.cases.forms import RevealForm
from riskassess.forms import BaseForm, OptionalChoice, RowForm
from riskassess.i18n import lazy_gettext as _l
from riskassess.instruments.definition import Domain, Instrument, Item

MAX_TEXT = 5000


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class StartAssessmentForm(BaseForm):
    instrument = SelectField(_l("Instrument"), validators=[DataRequired()])
    eligibility_reason = TextAreaField(
        _l("Reason, if the instrument is not meant for this child's age or sex"),
        validators=[Length(max=MAX_TEXT)],
    )
    # Historical items confirmed for a reassessment (the reassessment form's checkboxes).
    carry = MultiCheckboxField(_l("Historical items that still hold"), choices=[])

    def __init__(
        self,
        eligible: list[Instrument],
        others: list[Instrument],
        locale: str = "sv",
        registered: Collection[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """Instruments for the child's age and sex first; the others in their own group.
        With `registered` (the ids the user is registered as trained in), the others are
        marked as such."""
        super().__init__(**kwargs)
        outside = str(_l("Outside the target group"))
        untrained = str(_l("you are not registered as trained"))

        def label(instrument: Instrument) -> str:
            text = f"{instrument.title.get(locale)} ({instrument.version})"
            if registered is not None and instrument.id not in registered:
                text += f" – {untrained}"
            return text

        self.instrument.choices = [
            SelectChoice(f"{i.id}@{i.version}", label(i)) for i in eligible
        ] + [SelectChoice(f"{i.id}@{i.version}", label(i), optgroup=outside) for i in others]
        self._instruments = {f"{i.id}@{i.version}": i for i in [*eligible, *others]}
        codes = sorted({code for i in self._instruments.values() for code in i.historical_codes})
        self.carry.choices = [SelectChoice(code, code) for code in codes]

    def chosen_instrument(self) -> Instrument | None:
        return self._instruments.get(self.instrument.data or "")

    def validate_carry(self, field: Field) -> None:
        chosen = self.chosen_instrument()
        allowed = chosen.historical_codes if chosen is not None else frozenset()
        if any(code not in allowed for code in field.data or []):
            raise ValidationError(
                _l("Only historical items of the chosen instrument can be carried forward.")
            )


class ReviewForm(BaseForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("approve", _l("Approve")),
            SelectChoice("return", _l("Return for revision")),
        ],
        validators=[
            InputRequired(message=_l("Choose whether to approve or return the assessment."))
        ],
    )
    comment = TextAreaField(
        _l("Comment"),
        description=_l("Required when returning. Comments cannot be changed afterwards."),
        validators=[Length(max=MAX_TEXT)],
        render_kw={"rows": 3},
    )
    password = PasswordField(
        _l("Your password (signature)"),
        description=_l("Approving signs the assessment: enter your password again."),
        validators=[Length(max=200)],
    )

    def validate_comment(self, field: Field) -> None:
        if self.decision.data == "return" and not (field.data or "").strip():
            raise ValidationError(_l("A comment is needed to return an assessment."))

    def validate_password(self, field: Field) -> None:
        # An empty password is no guess: it is not checked, counted or logged.
        if self.decision.data == "approve" and not field.data:
            raise ValidationError(_l("Enter your password to approve and sign the assessment."))


class SubmitForm(BaseForm):
    pass


class FollowUpDoneForm(BaseForm):
    # Where to go afterwards: the case page ("case") or the list of what is due (anything else).
    back = HiddenField()


class WithdrawForm(BaseForm):
    reason = TextAreaField(
        _l("Reason for withdrawing"), validators=[DataRequired(), Length(max=MAX_TEXT)]
    )


class CorrectionForm(BaseForm):
    reason = TextAreaField(
        _l("Reason for the correction"), validators=[DataRequired(), Length(max=MAX_TEXT)]
    )


SOURCE_LABELS = {
    "child": _l("Interview with the child"),
    "guardians": _l("Interview with guardians"),
    "school": _l("School"),
    "police": _l("Police"),
    "health": _l("Health care or child psychiatry (BUP)"),
    "records": _l("Earlier records"),
    "other": _l("Other"),
}
PLAN_ROWS_EMPTY = 2  # blank plan rows offered beyond those already filled in


class ReportRevealForm(RevealForm):
    """The reason for printing a protected identity on the report; the research index choice
    of the report being printed is carried along."""

    research = BooleanField(_l("Include the research index"))


class VersionedForm(BaseForm):
    """A form that edits an assessment: carries the version it was loaded at."""

    lock_version = HiddenField()

    def based_on_version(self) -> int:
        try:
            return int(self.lock_version.data)
        except (TypeError, ValueError):
            return -1  # never matches: treated as a conflict, nothing is saved

    def apply(self, content: Content) -> Content:
        """The content with this form's part replaced by what was posted."""
        raise NotImplementedError


@dataclass(frozen=True)
class ItemFields:
    """The fields of one item on the rating form; `unchanged` only in a reassessment, for an
    item with a previous rating."""

    rating: Field
    rationale: Field
    sources: Field
    critical: Field | None
    unchanged: Field | None
    previous: ItemRating | None
    current: ItemRating  # as stored, before this request
    keys: dict[str, str]  # the key that picks each rating code (see rating_keys)


class DomainFormBase(VersionedForm):
    """Ratings of one domain; saving it replaces only that domain's items."""

    instrument: Instrument
    domain: Domain
    content: Content
    previous: Content | None

    def item_fields(self, code: str) -> ItemFields:
        item = self.instrument.item(code)
        before = None if item is None else previous_rating(item, self.previous)
        return ItemFields(
            self[f"rating_{code}"],
            self[f"rationale_{code}"],
            self[f"sources_{code}"],
            self[f"critical_{code}"] if self.instrument.critical_flag else None,
            self[f"unchanged_{code}"] if before is not None else None,
            before,
            self.content.rating(code),
            {} if item is None else rating_keys(item),
        )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for item in self.domain.items:
            fields = self.item_fields(item.code)
            if fields.unchanged is None or not fields.unchanged.data or fields.previous is None:
                continue
            if fields.rating.data not in (None, "", fields.previous.rating):
                fields.rating.errors = [*fields.rating.errors, str(UNCHANGED_OTHER_RATING)]
                valid = False
            note = (fields.rationale.data or "").strip()
            if not note or same_text(note, fields.previous.rationale):
                fields.rationale.errors = [*fields.rationale.errors, str(UNCHANGED_NEEDS_NOTE)]
                valid = False
        return valid

    def apply(self, content: Content) -> Content:
        items = dict(content.items)
        for item in self.domain.items:
            fields = self.item_fields(item.code)
            rating = fields.rating.data or None
            rationale = (fields.rationale.data or "").strip()
            confirmed = fields.unchanged is not None and bool(fields.unchanged.data)
            if confirmed and fields.previous is not None:
                rating, mark = fields.previous.rating, CONFIRMED
            elif fields.unchanged is not None and fields.current.unchanged == CONFIRMED:
                mark = ""  # the confirmation was taken back
            elif (rating, rationale) == (fields.current.rating, fields.current.rationale):
                mark = fields.current.unchanged  # untouched: a carried item stays carried
            else:
                mark = ""
            items[item.code] = ItemRating(
                rating,
                rationale,
                bool(fields.critical is not None and fields.critical.data),
                [s for s in SOURCES if s in (fields.sources.data or [])],
                mark,
            )
        return replace(content, items=items)


UNCHANGED_OTHER_RATING = _l(
    "You confirmed the item as unchanged but chose another rating: keep one of them."
)
UNCHANGED_NEEDS_NOTE = _l(
    "Write what you checked this time: the previous rationale alone does not confirm the item."
)


def rating_keys(item: Item) -> dict[str, str]:
    """The key that picks each rating of the item on the rating page (with JavaScript): the
    levels' weights where they count 0, 1, 2 ... in the scale's order (as risk scales do),
    otherwise 1, 2, ... in that order; "-" for omitted."""
    levels = item.scale.levels
    weights = [lvl.weight for lvl in levels]
    if weights == list(range(len(levels))) and len(levels) <= 10:
        keys = {lvl.code: str(lvl.weight) for lvl in levels}
    else:
        keys = {lvl.code: str(n) for n, lvl in enumerate(levels, start=1) if n <= 9}
    keys[OMITTED] = "-"
    return keys


def domain_form(
    instrument: Instrument,
    domain: Domain,
    locale: str,
    content: Content,
    lock_version: int,
    previous: Content | None = None,
) -> DomainFormBase:
    """One rating, rationale, sources and (where the instrument has it) critical flag per item.
    `previous`: for a reassessment, the content it started from; each item with a previous
    rating gets an "unchanged, confirm" box."""
    confirmable = tuple(
        item.code for item in domain.items if previous_rating(item, previous) is not None
    )
    key = (instrument.content_hash, domain.code, locale, confirmable)
    form_class = _DOMAIN_FORMS.get(key)
    if form_class is None:
        if len(_DOMAIN_FORMS) >= MAX_DOMAIN_FORMS:
            _DOMAIN_FORMS.clear()
        form_class = _DOMAIN_FORMS[key] = _domain_form_class(
            instrument, domain, locale, frozenset(confirmable)
        )
    initial: dict[str, Any] = {"lock_version": str(lock_version)}
    for item in domain.items:
        rating = content.rating(item.code)
        initial[f"rating_{item.code}"] = rating.rating
        initial[f"rationale_{item.code}"] = rating.rationale
        initial[f"sources_{item.code}"] = rating.sources
        initial[f"critical_{item.code}"] = rating.is_critical
        initial[f"unchanged_{item.code}"] = rating.unchanged == CONFIRMED
    form = form_class(data=initial)
    form.content, form.previous = content, previous
    return form


# The form classes made so far, by instrument version, domain, language and the items that
# can be confirmed unchanged: making a class (some forty fields) took a few percent of a
# section save. A handful exist in practice; the bound only keeps odd use from growing it.
_DOMAIN_FORMS: dict[tuple[str, str, str, tuple[str, ...]], type[DomainFormBase]] = {}
MAX_DOMAIN_FORMS = 500


def _domain_form_class(
    instrument: Instrument, domain: Domain, locale: str, confirmable: frozenset[str]
) -> type[DomainFormBase]:
    # Translated once here, not once per item and choice as the page is drawn.
    omitted_label = str(_l("Omitted (insufficient information)"))
    rationale_label = _l("Rationale")
    critical_label = _l("Critical")
    sources_label = _l("Sources")
    unchanged_label = _l("Unchanged, confirm")
    source_choices = [SelectChoice(code, str(label)) for code, label in SOURCE_LABELS.items()]
    attrs: dict[str, Any] = {"instrument": instrument, "domain": domain}
    for item in domain.items:
        choices = [SelectChoice(lvl.code, lvl.label.get(locale)) for lvl in item.scale.levels]
        attrs[f"rating_{item.code}"] = RadioField(
            f"{item.code} {item.title.get(locale)}",
            choices=[*choices, SelectChoice(OMITTED, omitted_label)],
            validators=[OptionalChoice()],
        )
        attrs[f"rationale_{item.code}"] = TextAreaField(
            f"{rationale_label} ({item.code})", validators=[Length(max=MAX_TEXT)]
        )
        attrs[f"sources_{item.code}"] = MultiCheckboxField(
            f"{sources_label} ({item.code})", choices=source_choices, validators=[OptionalChoice()]
        )
        if instrument.critical_flag:
            attrs[f"critical_{item.code}"] = BooleanField(f"{critical_label} ({item.code})")
        if item.code in confirmable:
            attrs[f"unchanged_{item.code}"] = BooleanField(f"{unchanged_label} ({item.code})")
    return type("DomainForm", (DomainFormBase,), attrs)


class PlanRowForm(RowForm):
    """One planned intervention; a plain Form because the outer form carries the CSRF token."""

    factors = MultiCheckboxField(
        _l("Factors it addresses (risk or protective)"), validators=[OptionalChoice()]
    )
    intervention = StringField(_l("Intervention (insats)"), validators=[Length(max=500)])
    responsible = StringField(_l("Responsible"), validators=[Length(max=200)])
    follow_up = DateField(_l("Follow-up date"), validators=[Optional()])


def plan_factor_label(item: Item, locale: str) -> str:
    """An item as a factor the plan can address; protective factors are named so, since an
    intervention may build on one as well as work on a risk."""
    label = f"{item.code} {item.title.get(locale)}"
    if item.scale.kind == "protective":
        label += f" ({gettext('protective factor')})"
    return label


class JudgementFormBase(VersionedForm):
    judgement_reason = TextAreaField(
        _l("Reasons for the judgement"), validators=[Length(max=MAX_TEXT)]
    )
    scenarios = TextAreaField(
        _l("Scenarios of concern"),
        description=_l("What could happen, in which situations, and how serious it would be."),
        validators=[Length(max=MAX_TEXT)],
    )
    additional_risk = TextAreaField(
        _l("Additional risk factors"), validators=[Length(max=MAX_TEXT)]
    )
    additional_protective = TextAreaField(
        _l("Additional protective factors"), validators=[Length(max=MAX_TEXT)]
    )
    plan = FieldList(FormField(PlanRowForm), min_entries=0, max_entries=30)
    risk_kind = SelectField(_l("Kind of risk"), choices=[], validators=[OptionalChoice()])
    risk_description = StringField(
        _l("The kind of risk in your words"),
        description=_l("Needed when the kind is Other; otherwise an optional precision."),
        validators=[Length(max=200)],
    )
    risk_months = RadioField(_l("Timeframe"), choices=[], validators=[OptionalChoice()])

    instrument: Instrument
    judgement_level: Field

    def rule_field(self, rule_id: str) -> Field:
        return self[f"rule_{rule_id}"]

    def apply(self, content: Content) -> Content:
        plan = []
        for row in self.plan:
            entry = PlanEntry(
                [code for code in row.factors.data or [] if self.instrument.item(code)],
                (row.intervention.data or "").strip(),
                (row.responsible.data or "").strip(),
                row.follow_up.data.isoformat() if row.follow_up.data else "",
            )
            if entry.intervention or entry.factors or entry.responsible:
                plan.append(entry)
        extras = self.instrument.additional_factors
        return replace(
            content,
            judgement_level=self.judgement_level.data or None,
            judgement_reason=(self.judgement_reason.data or "").strip(),
            scenarios=(self.scenarios.data or "").strip(),
            additional_risk=(self.additional_risk.data or "").strip() if extras else "",
            additional_protective=(self.additional_protective.data or "").strip() if extras else "",
            rule_reasons={
                rule.id: text
                for rule in self.instrument.rules
                if (text := (self.rule_field(rule.id).data or "").strip())
            },
            plan=plan,
            risk=RiskSpecification(
                self.risk_kind.data or None,
                (self.risk_description.data or "").strip(),
                self.risk_months.data or None,
            ),
        )

    def validate_plan(self, field: Field) -> None:
        for row in field:
            has_any = row.factors.data or row.responsible.data or row.follow_up.data
            if has_any and not (row.intervention.data or "").strip():
                # A plain str (not lazy), so the template can tell it from the rows' errors.
                raise ValidationError(gettext("Every planned intervention needs a description."))


def judgement_form(
    instrument: Instrument, locale: str, content: Content, lock_version: int
) -> JudgementFormBase:
    attrs: dict[str, Any] = {"instrument": instrument}
    attrs["judgement_level"] = RadioField(
        instrument.judgement_title.get(locale),
        choices=[
            SelectChoice(lvl.code, lvl.label.get(locale)) for lvl in instrument.judgement_levels
        ],
        validators=[OptionalChoice()],
    )
    for rule in instrument.rules:
        attrs[f"rule_{rule.id}"] = TextAreaField(
            rule.message.get(locale), validators=[Length(max=MAX_TEXT)]
        )
    form_class = type("JudgementForm", (JudgementFormBase,), attrs)
    initial: dict[str, Any] = {
        "lock_version": str(lock_version),
        "judgement_level": content.judgement_level,
        "judgement_reason": content.judgement_reason,
        "scenarios": content.scenarios,
        "additional_risk": content.additional_risk,
        "additional_protective": content.additional_protective,
        "plan": [
            {
                "factors": entry.factors,
                "intervention": entry.intervention,
                "responsible": entry.responsible,
                "follow_up": date.fromisoformat(entry.follow_up) if entry.follow_up else None,
            }
            for entry in content.plan
        ]
        + [{} for _ in range(PLAN_ROWS_EMPTY)],
        "risk_kind": content.risk.kind or "",
        "risk_description": content.risk.description,
        "risk_months": content.risk.months,
    }
    for rule in instrument.rules:
        initial[f"rule_{rule.id}"] = content.rule_reasons.get(rule.id, "")
    form: JudgementFormBase = form_class(data=initial)
    factor_choices = [
        SelectChoice(item.code, plan_factor_label(item, locale)) for item in instrument.items
    ]
    for row in form.plan:
        row.factors.choices = factor_choices
    form.risk_kind.choices = _choices(RISK_KIND_LABELS, _l("(choose)"))
    form.risk_months.choices = _choices(TIMEFRAME_LABELS)
    return form


# The case record's pages (riskassess.assessments.bbic): the link to the investigation with
# its information sources, and the views of the child and the guardians.

PHASE_LABELS = {
    "preliminary": _l("Initial assessment (förhandsbedömning)"),
    "investigation": _l("Investigation (utredning)"),
    "follow_up": _l("Follow-up (uppföljning)"),
}
HEARD_HOW_LABELS = {
    "meeting": _l("Meeting at the office"),
    "home_visit": _l("Home visit"),
    "phone": _l("Telephone"),
    "video": _l("Video call"),
    "written": _l("In writing"),
    "other": _l("Other"),
}
RISK_KIND_LABELS = {
    "violence": _l("Violence"),
    "serious_violence": _l("Serious violence"),
    "offending": _l("Offending"),
    "antisocial": _l("Antisocial behaviour"),
    "other": _l("Other (describe)"),
}
TIMEFRAME_LABELS = {
    "3": _l("within three months"),
    "6": _l("within six months"),
    "12": _l("within twelve months"),
}
SOURCE_ROWS_EMPTY = 3  # blank source rows offered beyond those filled in
GUARDIAN_ROWS_EMPTY = 1  # blank guardian rows offered beyond those filled in
MAX_ROWS = 20


def _choices(labels: dict[str, Any], blank: Any = None) -> list[SelectChoice]:
    first = [SelectChoice("", blank)] if blank is not None else []
    return first + [SelectChoice(code, label) for code, label in labels.items()]


class NotAfterToday:
    """A date that has happened: an assessment or a conversation is recorded afterwards."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self, form: Any, field: Field) -> None:
        if field.data is not None and field.data > self.today:
            raise ValidationError(_l("The date cannot be later than today."))


class SourceRowForm(RowForm):
    kind = SelectField(_l("Kind of source"), choices=_choices(SOURCE_LABELS, _l("(none)")))
    on = DateField(_l("Date"), validators=[Optional()])
    # Not "description": a FormField row has an attribute of that name, the field's own.
    detail = StringField(_l("Who or what (optional)"), validators=[Length(max=200)])


class InvestigationForm(VersionedForm):
    phase = RadioField(
        _l("BBIC phase"), choices=_choices(PHASE_LABELS), validators=[OptionalChoice()]
    )
    reference = StringField(
        _l("The investigation's reference (diarienummer)"),
        description=_l("As it is written in the case management system."),
        validators=[Length(max=60)],
    )
    assessed_on = DateField(_l("Date of the assessment"), validators=[Optional()])
    sources = FieldList(FormField(SourceRowForm), min_entries=0, max_entries=MAX_ROWS)

    def validate_sources(self, field: Field) -> None:
        for row in field:
            if row.kind.data and row.on.data is None and not row.on.errors:
                raise ValidationError(gettext("Every source needs the date it was used."))
            if not row.kind.data and (row.on.data or (row.detail.data or "").strip()):
                raise ValidationError(gettext("Every source needs its kind."))

    def apply(self, content: Content) -> Content:
        sources = [
            Source(row.kind.data, row.on.data.isoformat(), (row.detail.data or "").strip())
            for row in self.sources
            if row.kind.data in SOURCE_KINDS and row.on.data is not None
        ]
        investigation = Investigation(
            self.phase.data or None,
            (self.reference.data or "").strip(),
            self.assessed_on.data.isoformat() if self.assessed_on.data else "",
            sources,
        )
        return replace(content, investigation=investigation)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def investigation_form(content: Content, lock_version: int, today: date) -> InvestigationForm:
    """The link to the investigation; an assessment without a date starts with today's."""
    known = content.investigation
    form = InvestigationForm(
        data={
            "lock_version": str(lock_version),
            "phase": known.phase,
            "reference": known.reference,
            "assessed_on": _day(known.assessed_on) or today,
            "sources": [
                {"kind": s.kind, "on": _day(s.on), "detail": s.description} for s in known.sources
            ]
            + [{} for _ in range(SOURCE_ROWS_EMPTY)],
        }
    )
    not_future = NotAfterToday(today)
    form.assessed_on.validators = [Optional(), not_future]
    for row in form.sources:
        row.on.validators = [Optional(), not_future]
    return form


class HeardViewForm(RowForm):
    who = StringField(_l("Who (for example mother, father)"), validators=[Length(max=100)])
    view = TextAreaField(_l("Their view, in their own words"), validators=[Length(max=MAX_TEXT)])
    how = SelectField(_l("How it was heard"), choices=_choices(HEARD_HOW_LABELS, _l("(choose)")))
    heard_on = DateField(_l("When"), validators=[Optional()])

    def heard(self) -> HeardView:
        return HeardView(
            (self.view.data or "").strip(),
            self.how.data or None,
            self.heard_on.data.isoformat() if self.heard_on.data else "",
            (self.who.data or "").strip(),
        )


def _heard_row_problem(row: HeardViewForm) -> str | None:
    if not (row.view.data or "").strip():
        return None
    if not row.how.data or row.heard_on.data is None:
        return str(gettext("Say how and when each view was heard."))
    return None


class VoicesForm(VersionedForm):
    child_view = TextAreaField(
        _l("The child's own view"),
        description=_l("What the child says about the situation, the risks and what would help."),
        validators=[Length(max=MAX_TEXT)],
    )
    child_how = SelectField(
        _l("How the child was heard"), choices=_choices(HEARD_HOW_LABELS, _l("(choose)"))
    )
    child_heard_on = DateField(_l("When the child was heard"), validators=[Optional()])
    child_weight = TextAreaField(
        _l("How the child's view was taken into account"),
        description=_l("Given the child's age and maturity."),
        validators=[Length(max=MAX_TEXT)],
    )
    child_not_heard = TextAreaField(
        _l("If the child's view could not be obtained: why"), validators=[Length(max=MAX_TEXT)]
    )
    guardians = FieldList(FormField(HeardViewForm), min_entries=0, max_entries=6)
    guardians_not_heard = TextAreaField(
        _l("If no guardian's view could be obtained: why"), validators=[Length(max=MAX_TEXT)]
    )

    def validate_child_view(self, field: Field) -> None:
        if (field.data or "").strip() and (not self.child_how.data or not self.child_heard_on.data):
            raise ValidationError(_l("Say how and when the child was heard."))

    def validate_guardians(self, field: Field) -> None:
        for row in field:
            problem = _heard_row_problem(row)
            if problem:
                raise ValidationError(problem)

    def apply(self, content: Content) -> Content:
        child = HeardView(
            (self.child_view.data or "").strip(),
            self.child_how.data or None,
            self.child_heard_on.data.isoformat() if self.child_heard_on.data else "",
        )
        guardians = [view for row in self.guardians if (view := row.heard()).is_recorded]
        voices = Voices(
            child,
            (self.child_weight.data or "").strip(),
            (self.child_not_heard.data or "").strip(),
            guardians,
            (self.guardians_not_heard.data or "").strip(),
        )
        return replace(content, voices=voices)


def voices_form(content: Content, lock_version: int, today: date) -> VoicesForm:
    known = content.voices
    form = VoicesForm(
        data={
            "lock_version": str(lock_version),
            "child_view": known.child.view,
            "child_how": known.child.how or "",
            "child_heard_on": _day(known.child.heard_on),
            "child_weight": known.child_weight,
            "child_not_heard": known.child_not_heard,
            "guardians": [
                {"who": g.who, "view": g.view, "how": g.how or "", "heard_on": _day(g.heard_on)}
                for g in known.guardians
            ]
            + [{} for _ in range(GUARDIAN_ROWS_EMPTY)],
            "guardians_not_heard": known.guardians_not_heard,
        }
    )
    not_future = NotAfterToday(today)
    form.child_heard_on.validators = [Optional(), not_future]
    for row in form.guardians:
        row.heard_on.validators = [Optional(), not_future]
    return form


RECIPIENT_LABELS = {"child": _l("The child"), "guardians": _l("The guardians")}
AGREEMENT_LABELS = {
    "agrees": _l("Agrees with the assessment"),
    "partly": _l("Agrees in part"),
    "disagrees": _l("Disagrees"),
    "not_stated": _l("Did not say"),
}


class FeedbackForm(BaseForm):
    to = MultiCheckboxField(
        _l("Fed back to"),
        choices=[SelectChoice(code, label) for code, label in RECIPIENT_LABELS.items()],
        validators=[DataRequired(message=_l("Say whom the result was fed back to."))],
    )
    on = DateField(
        _l("Date of the feedback"),
        validators=[InputRequired(message=_l("Give the date of the feedback."))],
    )
    how = SelectField(
        _l("How"),
        choices=_choices(HEARD_HOW_LABELS, _l("(choose)")),
        validators=[InputRequired(message=_l("Say how the result was fed back."))],
    )
    agreement = RadioField(
        _l("Their response"),
        choices=[SelectChoice(code, label) for code, label in AGREEMENT_LABELS.items()],
        validators=[InputRequired(message=_l("Say whether they agree."))],
    )
    disagreement = TextAreaField(
        _l("What they disagree with, in their words"),
        description=_l("Needed when they disagree in whole or in part."),
        validators=[Length(max=MAX_TEXT)],
    )

    def __init__(self, today: date, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on.validators = [*self.on.validators, NotAfterToday(today)]

    def validate_disagreement(self, field: Field) -> None:
        if self.agreement.data in ("partly", "disagrees") and not (field.data or "").strip():
            raise ValidationError(_l("Note what they disagree with."))


# The labels of the case record's codes, by group, for the pages that show them.
RECORD_LABELS: dict[str, dict[str, Any]] = {
    "phase": PHASE_LABELS,
    "how": HEARD_HOW_LABELS,
    "risk": RISK_KIND_LABELS,
    "months": TIMEFRAME_LABELS,
    "to": RECIPIENT_LABELS,
    "agreement": AGREEMENT_LABELS,
}
