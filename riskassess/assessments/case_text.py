"""The "samlad bedömning": an assessment as plain text, ready to paste into the investigation
(utredning) in the case management system, which takes text and nothing else.

Pure: no database, no request. The labels are translated in the current locale (Flask-Babel),
so it is called where a locale is set: a request, or a test's request context.

The text is a list of labelled blocks, in reading order. A new field of the assessment is a
new `TextBlock` in `case_file_blocks`, in the place where the investigation expects it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from riskassess.assessments.bbic import HeardView
from riskassess.assessments.content import Content
from riskassess.assessments.forms import RECORD_LABELS, SOURCE_LABELS
from riskassess.formatting import format_day, format_moment
from riskassess.instruments.definition import Instrument, Item

NOT_RECORDED = "–"


@dataclass(frozen=True)
class Approval:
    """Who approved the assessment, and when."""

    approver: str
    approved_dt: datetime


@dataclass(frozen=True)
class TextBlock:
    """A label and its text; the text may run over several lines."""

    label: str
    text: str


def _or_dash(text: str) -> str:
    return text.strip() or NOT_RECORDED


def _item_line(item: Item, locale: str) -> str:
    return f"- {item.code} {item.title.get(locale)}"


def _plan_lines(content: Content) -> str:
    lines = []
    for entry in content.plan:
        parts = [entry.intervention.strip() or NOT_RECORDED]
        if entry.factors:
            parts.append(_("addresses %(factors)s", factors=", ".join(entry.factors)))
        if entry.responsible.strip():
            parts.append(_("responsible: %(who)s", who=entry.responsible.strip()))
        if entry.follow_up:
            parts.append(_("follow-up %(day)s", day=format_day(entry.follow_up)))
        lines.append("- " + "; ".join(parts))
    return "\n".join(lines) or NOT_RECORDED


def _label(group: str, code: str | None) -> str:
    return str(RECORD_LABELS[group].get(code or "", NOT_RECORDED))


def _investigation_text(content: Content) -> str:
    record = content.investigation
    lines = [
        _("Phase: %(phase)s", phase=_label("phase", record.phase)),
        _("Reference: %(reference)s", reference=_or_dash(record.reference)),
        _("Date: %(day)s", day=format_day(record.assessed_on) if record.assessed_on else "–"),
    ]
    return "\n".join(lines)


def _sources_text(content: Content) -> str:
    record = content.investigation
    lines = [
        f"- {SOURCE_LABELS.get(s.kind, s.kind)}, {format_day(s.on)}"
        + (f": {s.description}" if s.description else "")
        for s in record.sources
    ]
    if record.records_only:
        lines.append(_("Based on records only: no interview with the child or a guardian."))
    return "\n".join(lines) or NOT_RECORDED


def _heard(view: HeardView) -> str:
    when = format_day(view.heard_on) if view.heard_on else NOT_RECORDED
    return f"({_label('how', view.how)}, {when}) {view.view}"


def _child_text(content: Content) -> str:
    voices = content.voices
    if voices.child.is_recorded:
        text = _heard(voices.child)
        if voices.child_weight.strip():
            text += "\n" + _("How it was taken into account: %(text)s", text=voices.child_weight)
        return text
    if voices.child_not_heard.strip():
        return str(_("Could not be obtained: %(why)s", why=voices.child_not_heard))
    return NOT_RECORDED


def _guardians_text(content: Content) -> str:
    voices = content.voices
    lines = [f"- {g.who or _('Guardian')}: {_heard(g)}" for g in voices.guardians]
    if not lines and voices.guardians_not_heard.strip():
        return str(_("Could not be obtained: %(why)s", why=voices.guardians_not_heard))
    return "\n".join(lines) or NOT_RECORDED


def _risk_text(content: Content) -> str:
    risk = content.risk
    if risk.kind is None:
        return NOT_RECORDED
    kind = _label("risk", risk.kind)
    if risk.kind == "other" and risk.description.strip():
        kind = risk.description.strip()
    elif risk.description.strip():
        kind += f" ({risk.description.strip()})"
    return f"{kind} {_label('months', risk.months) if risk.months else ''}".strip()


def case_file_blocks(
    instrument: Instrument,
    content: Content,
    critical: Sequence[Item],
    approval: Approval | None,
    locale: str,
) -> list[TextBlock]:
    """The blocks of the text, in the order the investigation reads them."""
    level = instrument.judgement_level(content.judgement_level or "")
    method = _(
        "%(title)s, version %(version)s",
        title=instrument.title.get(locale),
        version=instrument.version,
    )
    if instrument.unverified:
        method += "\n" + _("Unverified instrument file: not checked against the licensed manual.")
    critical_text = "\n".join(_item_line(item, locale) for item in critical)
    if approval is None:
        status = _("Not approved: this text is not from a signed assessment.")
    else:
        status = _(
            "Approved by %(name)s, %(moment)s.",
            name=approval.approver,
            moment=format_moment(approval.approved_dt),
        )
    return [
        TextBlock(_("Structured assessment made with"), method),
        TextBlock(_("Investigation (BBIC)"), _investigation_text(content)),
        TextBlock(_("Information sources"), _sources_text(content)),
        TextBlock(_("The child's view"), _child_text(content)),
        TextBlock(_("The guardians' views"), _guardians_text(content)),
        TextBlock(
            instrument.judgement_title.get(locale),
            level.label.get(locale) if level is not None else _("Not recorded"),
        ),
        TextBlock(_("What the judgement speaks of"), _risk_text(content)),
        TextBlock(_("Reasons for the judgement"), _or_dash(content.judgement_reason)),
        TextBlock(_("Scenarios of concern"), _or_dash(content.scenarios)),
        TextBlock(_("Critical items"), critical_text or _("None marked.")),
        TextBlock(_("Plan"), _plan_lines(content)),
        TextBlock(_("Approval"), status),
    ]


def as_plain_text(blocks: Sequence[TextBlock]) -> str:
    """The blocks as text: each label on its own line with a colon, its text below, a blank
    line between blocks. Line breaks inside a text are kept; trailing spaces are not."""
    parts = []
    for block in blocks:
        body = "\n".join(line.rstrip() for line in block.text.strip().splitlines())
        parts.append(f"{block.label}:\n{body}")
    return "\n\n".join(parts) + "\n"


def case_file_text(
    instrument: Instrument,
    content: Content,
    critical: Sequence[Item],
    approval: Approval | None,
    locale: str,
) -> str:
    """The "samlad bedömning" of an assessment as plain text."""
    return as_plain_text(case_file_blocks(instrument, content, critical, approval, locale))
