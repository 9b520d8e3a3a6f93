"""A course's results from submitted ratings: the spread per item beside the reference, each
participant's agreement with it, and statistics that cannot be computed shown as their reason."""

from __future__ import annotations

from dataclasses import replace

from riskassess.assessments.content import OMITTED, Content, ItemRating
from riskassess.config import SHIPPED_INSTRUMENTS, SHIPPED_VIGNETTES
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import load_directories
from riskassess.training.courses import CODE_ALPHABET, new_join_code, normalize_code
from riskassess.training.results import course_icc, vignette_results
from riskassess.training.vignettes import Vignette, load_vignettes

REGISTRY = load_directories([SHIPPED_INSTRUMENTS])
VIGNETTES = load_vignettes([SHIPPED_VIGNETTES], REGISTRY)


def _savry() -> tuple[Vignette, Instrument]:
    vignette = VIGNETTES.get("savry-elias", "1.0")
    assert vignette is not None
    instrument = REGISTRY.get(vignette.instrument_id, vignette.instrument_version)
    assert instrument is not None
    return vignette, instrument


def test_the_reference_itself_agrees_fully_and_the_spread_counts_each_rating() -> None:
    vignette, instrument = _savry()
    reference = vignette.reference_content()
    first_risk = instrument.risk_items[0]
    other = "high" if reference.rating(first_risk.code).rating != "high" else "low"
    changed = replace(
        reference, items={**reference.items, first_risk.code: ItemRating(other, "", False, [])}
    )
    results = vignette_results(vignette, instrument, [("A", reference), ("B", changed)])
    a, b = results.people
    assert a.percent.value == 1.0
    assert b.percent.value is not None
    assert round(b.percent.value * len(instrument.items)) == len(instrument.items) - 1
    spread = next(s for s in results.items if s.item.code == first_risk.code)
    assert spread.total == 2 and spread.agreeing == 1
    assert spread.counts[spread.categories.index(other)] == 1
    assert results.judgements is not None and results.judgements.agreeing == 2


def test_a_statistic_without_an_answer_gives_its_reason_not_a_number() -> None:
    vignette, instrument = _savry()
    same = Content({item.code: ItemRating(OMITTED) for item in instrument.items}, "low")
    results = vignette_results(vignette, instrument, [("A", same), ("B", same)])
    # Every rating the same: chance agreement is complete and kappa is 0/0; every item omitted
    # leaves alpha no pair of ratings.
    assert results.fleiss.value is None and results.fleiss.error is not None
    assert results.fleiss.error.message
    assert results.alpha.value is None and results.alpha.error is not None
    assert results.people[0].kappa.error is not None  # no risk item rated


def test_the_icc_of_the_research_index_over_vignettes() -> None:
    _vignette, instrument = _savry()
    rows = []
    for levels in (("low", "moderate"), ("moderate", "high"), ("high", "high")):
        rows.append(
            [
                Content({i.code: ItemRating(level) for i in instrument.risk_items}, "low")
                for level in levels
            ]
        )
    figure = course_icc([instrument] * 3, rows)
    assert figure.value is not None and figure.band is not None
    assert figure.interval is not None and figure.interval[0] <= figure.value <= figure.interval[1]
    one_rater = course_icc([instrument] * 2, [[rows[0][0]], [rows[1][0]]])
    assert one_rater.value is None and one_rater.error is not None


def test_join_codes_are_short_and_unambiguous() -> None:
    codes = {new_join_code() for _ in range(200)}
    assert all(len(c) == 6 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01IOL") & set(CODE_ALPHABET)
    assert normalize_code(" ab-c 23d ") == "ABC23D"
