"""Assessment forms. The rating form is built at run time from the instrument definition, so a
new instrument needs a file, not code."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
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
from riskassess.forms import BaseForm, OptionalChoice
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
    "records": _l("Earlier records"),
    "other": _l("Other"),
}
PLAN_ROWS_EMPTY = 2  # blank plan rows offered beyond those already filled in


class VersionedForm(BaseForm):
    """A form that edits an assessment: carries the version it was loaded at."""

    lock_version = HiddenField()

    def based_on_version(self) -> int:
        try:
            return int(self.lock_version.data)
        except (TypeError, ValueError):
            return -1  # never matches: treated as a conflict, nothing is saved


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
    omitted_label = _l("Omitted (insufficient information)")
    rationale_label = _l("Rationale")
    critical_label = _l("Critical")
    sources_label = _l("Sources")
    unchanged_label = _l("Unchanged, confirm")
    source_choices = [SelectChoice(code, label) for code, label in SOURCE_LABELS.items()]
    attrs: dict[str, Any] = {
        "instrument": instrument,
        "domain": domain,
        "content": content,
        "previous": previous,
    }
    initial: dict[str, Any] = {"lock_version": str(lock_version)}
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
        if previous_rating(item, previous) is not None:
            attrs[f"unchanged_{item.code}"] = BooleanField(f"{unchanged_label} ({item.code})")
        rating = content.rating(item.code)
        initial[f"rating_{item.code}"] = rating.rating
        initial[f"rationale_{item.code}"] = rating.rationale
        initial[f"sources_{item.code}"] = rating.sources
        initial[f"critical_{item.code}"] = rating.is_critical
        initial[f"unchanged_{item.code}"] = rating.unchanged == CONFIRMED
    form_class = type("DomainForm", (DomainFormBase,), attrs)
    form: DomainFormBase = form_class(data=initial)
    return form


class PlanRowForm(Form):
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
    }
    for rule in instrument.rules:
        initial[f"rule_{rule.id}"] = content.rule_reasons.get(rule.id, "")
    form: JudgementFormBase = form_class(data=initial)
    factor_choices = [
        SelectChoice(item.code, plan_factor_label(item, locale)) for item in instrument.items
    ]
    for row in form.plan:
        row.factors.choices = factor_choices
    return form
