"""Assessment forms. The rating form is built at run time from the instrument definition, so a
new instrument needs a file, not code."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from riskassess.assessments.content import OMITTED, Content, ItemRating
from riskassess.forms import BaseForm
from riskassess.instruments.definition import Instrument

MAX_TEXT = 5000


class StartAssessmentForm(BaseForm):
    instrument = SelectField(_l("Instrument"), validators=[DataRequired()])
    eligibility_reason = TextAreaField(
        _l("Reason, if the instrument is not meant for this child's age or sex"),
        validators=[Length(max=MAX_TEXT)],
    )

    def __init__(
        self,
        eligible: list[Instrument],
        others: list[Instrument],
        locale: str = "sv",
        **kwargs: Any,
    ) -> None:
        """Instruments for the child's age and sex first; the others in their own group."""
        super().__init__(**kwargs)
        outside = str(_l("Outside the target group"))
        self.instrument.choices = [
            SelectChoice(f"{i.id}@{i.version}", f"{i.title.get(locale)} ({i.version})")
            for i in eligible
        ] + [
            SelectChoice(
                f"{i.id}@{i.version}", f"{i.title.get(locale)} ({i.version})", optgroup=outside
            )
            for i in others
        ]


class ReviewForm(BaseForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("approve", _l("Approve")),
            SelectChoice("return", _l("Return for revision")),
        ],
        validators=[InputRequired()],
    )
    comment = TextAreaField(_l("Comment"), validators=[Length(max=MAX_TEXT)])


class SubmitForm(BaseForm):
    pass


class RatingFormBase(BaseForm):
    lock_version = HiddenField()
    judgement_level: Field
    judgement_reason: Field

    instrument: Instrument

    def item_fields(self, code: str) -> tuple[Field, Field, Field | None]:
        critical = self[f"critical_{code}"] if self.instrument.critical_flag else None
        return self[f"rating_{code}"], self[f"rationale_{code}"], critical

    def rule_field(self, rule_id: str) -> Field:
        return self[f"rule_{rule_id}"]

    def to_content(self) -> Content:
        items = {}
        for item in self.instrument.items:
            rating, rationale, critical = self.item_fields(item.code)
            items[item.code] = ItemRating(
                rating.data or None,
                (rationale.data or "").strip(),
                bool(critical is not None and critical.data),
            )
        reasons = {
            rule.id: text
            for rule in self.instrument.rules
            if (text := (self.rule_field(rule.id).data or "").strip())
        }
        extras = self.instrument.additional_factors
        return Content(
            items=items,
            judgement_level=self.judgement_level.data or None,
            judgement_reason=(self.judgement_reason.data or "").strip(),
            additional_risk=(self["additional_risk"].data or "").strip() if extras else "",
            additional_protective=(self["additional_protective"].data or "").strip()
            if extras
            else "",
            rule_reasons=reasons,
        )

    def based_on_version(self) -> int | None:
        try:
            return int(self.lock_version.data)
        except (TypeError, ValueError):
            return None


def rating_form(
    instrument: Instrument, locale: str, content: Content, lock_version: int
) -> RatingFormBase:
    """A form with one rating and one rationale per item, plus the overall judgement."""
    omitted_label = _l("Omitted (insufficient information)")
    rationale_label = _l("Rationale")
    critical_label = _l("Critical")
    attrs: dict[str, Any] = {"instrument": instrument}
    for item in instrument.items:
        choices = [SelectChoice(lvl.code, lvl.label.get(locale)) for lvl in item.scale.levels]
        attrs[f"rating_{item.code}"] = RadioField(
            f"{item.code} {item.title.get(locale)}",
            choices=[*choices, SelectChoice(OMITTED, omitted_label)],
            validators=[Optional()],
        )
        attrs[f"rationale_{item.code}"] = TextAreaField(
            f"{rationale_label} ({item.code})", validators=[Length(max=MAX_TEXT)]
        )
        if instrument.critical_flag:
            attrs[f"critical_{item.code}"] = BooleanField(f"{critical_label} ({item.code})")
    if instrument.additional_factors:
        attrs["additional_risk"] = TextAreaField(
            _l("Additional risk factors"), validators=[Length(max=MAX_TEXT)]
        )
        attrs["additional_protective"] = TextAreaField(
            _l("Additional protective factors"), validators=[Length(max=MAX_TEXT)]
        )
    for rule in instrument.rules:
        attrs[f"rule_{rule.id}"] = TextAreaField(
            rule.message.get(locale), validators=[Length(max=MAX_TEXT)]
        )
    attrs["judgement_level"] = RadioField(
        instrument.judgement_title.get(locale),
        choices=[
            SelectChoice(lvl.code, lvl.label.get(locale)) for lvl in instrument.judgement_levels
        ],
        validators=[Optional()],
    )
    attrs["judgement_reason"] = TextAreaField(
        _l("Reasons for the judgement"), validators=[Length(max=MAX_TEXT)]
    )
    form_class = type("RatingForm", (RatingFormBase,), attrs)
    initial: dict[str, Any] = {"lock_version": str(lock_version)}
    for item in instrument.items:
        rating = content.rating(item.code)
        initial[f"rating_{item.code}"] = rating.rating
        initial[f"rationale_{item.code}"] = rating.rationale
        initial[f"critical_{item.code}"] = rating.is_critical
    for rule in instrument.rules:
        initial[f"rule_{rule.id}"] = content.rule_reasons.get(rule.id, "")
    initial["additional_risk"] = content.additional_risk
    initial["additional_protective"] = content.additional_protective
    initial["judgement_level"] = content.judgement_level
    initial["judgement_reason"] = content.judgement_reason
    form: RatingFormBase = form_class(data=initial)
    return form
