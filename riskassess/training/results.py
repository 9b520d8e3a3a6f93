"""A course's results after the reveal: each participant's agreement with the reference, the
spread of ratings per item, and the group's agreement, computed with riskassess.training.agreement.

A statistic the ratings cannot support (one participant, every rating the same, ...) is kept as
the AgreementError's message and parameters, shown translated in place of a number."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import partial

from riskassess.assessments.content import OMITTED, Content, research_index
from riskassess.instruments.definition import Instrument, Item
from riskassess.training.agreement import (
    AgreementError,
    Band,
    IccForm,
    cohens_kappa,
    fleiss_kappa,
    gwet_ac1,
    icc,
    icc_form_description,
    icc_interval,
    interpret_icc,
    interpret_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from riskassess.training.vignettes import Vignette

ICC_FORM: IccForm = "ICC(2,1)"


@dataclass(frozen=True)
class Figure:
    """A statistic's value with its interpretation band, or the reason it has none."""

    value: float | None = None
    band: Band | None = None
    error: AgreementError | None = None
    interval: tuple[float, float] | None = None


def _figure(compute: Callable[[], float], bands: Callable[[float], Band] | None) -> Figure:
    try:
        value = compute()
    except AgreementError as exc:
        return Figure(error=exc)
    return Figure(value, bands(value) if bands else None)


def _ordinal_items(instrument: Instrument) -> tuple[list[Item], list[str]]:
    """The risk items on the instrument's first risk scale, and that scale's levels (lowest
    first): the items weighted kappa and ordinal alpha are computed on."""
    risk = instrument.risk_items
    if not risk:
        return [], []
    scale = risk[0].scale
    return [i for i in risk if i.scale == scale], [lvl.code for lvl in scale.levels]


@dataclass(frozen=True)
class ParticipantAgreement:
    name: str
    percent: Figure
    kappa: Figure  # linearly weighted, on the ordinal risk items


@dataclass(frozen=True)
class ItemSpread:
    item: Item
    categories: list[str]  # scale levels, then OMITTED
    counts: list[int]
    reference: str
    agreeing: int  # ratings equal to the reference
    total: int


@dataclass(frozen=True)
class VignetteResults:
    vignette: Vignette
    instrument: Instrument
    raters: int
    people: list[ParticipantAgreement]
    items: list[ItemSpread]
    judgements: ItemSpread | None
    fleiss: Figure
    ac1: Figure
    alpha: Figure


@dataclass(frozen=True)
class CourseResults:
    vignettes: list[VignetteResults]
    icc: Figure | None  # None: fewer than two vignettes
    icc_form: IccForm = ICC_FORM
    icc_description: str = field(default_factory=lambda: icc_form_description(ICC_FORM))
    icc_raters: int = 0

    @property
    def mean_percent(self) -> float | None:
        values = [
            p.percent.value for v in self.vignettes for p in v.people if p.percent.value is not None
        ]
        return sum(values) / len(values) if values else None


def _spread(item: Item, ratings: Sequence[str | None], reference: str) -> ItemSpread:
    categories = [lvl.code for lvl in item.scale.levels] + [OMITTED]
    counts = [sum(1 for r in ratings if r == c) for c in categories]
    return ItemSpread(
        item,
        categories,
        counts,
        reference,
        counts[categories.index(reference)] if reference in categories else 0,
        len(ratings),
    )


def vignette_results(
    vignette: Vignette, instrument: Instrument, rated: Sequence[tuple[str, Content]]
) -> VignetteResults:
    """`rated`: (display name, submitted content) of every participant who submitted it."""
    reference = vignette.reference_content()
    codes = [item.code for item in instrument.items]
    ordinal, levels = _ordinal_items(instrument)
    people = []
    for name, content in rated:
        mine = [content.rating(c).rating or "" for c in codes]
        theirs = [reference.rating(c).rating or "" for c in codes]
        pairs = [
            (content.rating(i.code).rating, reference.rating(i.code).rating)
            for i in ordinal
            if content.rating(i.code).rating in levels and reference.rating(i.code).rating in levels
        ]
        own: list[Hashable] = [a for a, _b in pairs]
        ref: list[Hashable] = [b for _a, b in pairs]
        people.append(
            ParticipantAgreement(
                name,
                _figure(partial(percent_agreement, mine, theirs), None),
                _figure(
                    partial(cohens_kappa, own, ref, weights="linear", categories=levels),
                    interpret_kappa,
                ),
            )
        )
    items = [
        _spread(
            item,
            [c.rating(item.code).rating for _n, c in rated],
            reference.rating(item.code).rating or "",
        )
        for item in instrument.items
    ]
    per_item: list[list[Hashable | None]] = [
        [c.rating(code).rating or OMITTED for _n, c in rated] for code in codes
    ]
    table: list[list[object]] = [
        [r if (r := c.rating(i.code).rating) in levels else None for _n, c in rated]
        for i in ordinal
    ]
    judgement_item = Item(
        "judgement",
        instrument.judgement_title,
        instrument.judgement_title,
        instrument.judgement_scale,
    )
    judgements = _spread(
        judgement_item, [c.judgement_level for _n, c in rated], vignette.judgement.level
    )
    return VignetteResults(
        vignette=vignette,
        instrument=instrument,
        raters=len(rated),
        people=people,
        items=items,
        judgements=judgements,
        fleiss=_figure(lambda: fleiss_kappa(per_item), interpret_kappa),
        ac1=_figure(lambda: gwet_ac1(per_item), interpret_kappa),
        alpha=_figure(
            lambda: krippendorff_alpha(table, "ordinal", categories=levels), interpret_kappa
        ),
    )


def course_icc(instruments: Sequence[Instrument], contents: Sequence[Sequence[Content]]) -> Figure:
    """ICC(2,1) on the research index (the sum of the risk items' weights): rows are the
    vignettes, columns the participants who submitted every vignette."""
    rows = [
        [float(research_index(instrument, c).total) for c in row]
        for instrument, row in zip(instruments, contents, strict=True)
    ]
    try:
        value = icc(rows, ICC_FORM)
    except AgreementError as exc:
        return Figure(error=exc)
    try:
        interval: tuple[float, float] | None = icc_interval(rows, ICC_FORM)
    except AgreementError:
        interval = None
    return Figure(value, interpret_icc(value), interval=interval)


def course_results(
    keys: Sequence[tuple[str, str]],
    lookup: Callable[[tuple[str, str]], tuple[Vignette, Instrument] | None],
    submitted: dict[tuple[str, str], list[tuple[str, str, Content]]],
) -> CourseResults:
    """`submitted`: per vignette key, (participant id, display name, content) of every
    submitted rating, in the participants' order."""
    found = [(key, loaded) for key in keys if (loaded := lookup(key)) is not None]
    per_vignette = [
        vignette_results(v, i, [(name, c) for _pid, name, c in submitted.get(key, [])])
        for key, (v, i) in found
    ]
    if len(found) < 2:
        return CourseResults(per_vignette, None)
    everyone = [set(pid for pid, _n, _c in submitted.get(key, [])) for key, _l in found]
    complete = sorted(set.intersection(*everyone)) if everyone else []
    contents = [
        [next(c for pid, _n, c in submitted[key] if pid == person) for person in complete]
        for key, _l in found
    ]
    figure = course_icc([i for _k, (_v, i) in found], contents)
    return CourseResults(per_vignette, figure, icc_raters=len(complete))
