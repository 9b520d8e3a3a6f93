"""The agreement statistics of rater training against published values.

Each data set below is quoted with its source and the value printed there, to the precision
printed. Where the original paper gives only a summary, the value comes from a well-known
implementation's documented output for the same data (R packages psych, irr, irrCAC; SAS), and
the test says so. Property tests (hypothesis) then check what must hold for every input,
including that no input makes a function crash, divide by zero or return NaN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Sequence
from random import Random

import pytest
from babel.messages.pofile import read_po
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from riskassess.config import PROJECT_ROOT
from riskassess.training.agreement import (
    ICC_FORMS,
    KOO_LI_2016,
    LANDIS_KOCH_1977,
    AgreementError,
    IccForm,
    alpha,
    bands,
    cohens_kappa,
    fleiss_kappa,
    gwet_ac1,
    icc,
    icc_form_description,
    icc_interval,
    interpret_icc,
    interpret_kappa,
    kappa,
    krippendorff_alpha,
    percent_agreement,
    ratings,
)
from riskassess.training.agreement import icc as icc_module
from riskassess.training.agreement.distributions import (
    f_cdf,
    f_quantile,
    regularized_incomplete_beta,
)

CATALOGUE = PROJECT_ROOT / "riskassess" / "translations" / "sv" / "LC_MESSAGES"
PROPERTY = settings(deadline=None, max_examples=150)
FORMS: list[IccForm] = ["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"]


def _from_table(table: Sequence[Sequence[int]], labels: Sequence[Hashable]) -> tuple[list, list]:
    """Two raters' lists from a contingency table (rows: first rater, columns: second)."""
    first: list[Hashable] = []
    second: list[Hashable] = []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [labels[i]] * count
            second += [labels[j]] * count
    return first, second


def _from_counts(counts: Sequence[Sequence[int]]) -> list[list[int]]:
    """Per subject the raters' labels (category numbers) from per-category counts."""
    return [[k for k, c in enumerate(row) for _ in range(c)] for row in counts]


# --- Data sets ------------------------------------------------------------------------------

# Shrout & Fleiss (1979), their example: six targets rated by four judges.
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": the example with missing
# values (four observers, twelve units), here one row per unit.
KRIPPENDORFF = [
    [1, 1, None, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [None, 5, 5, 5],
    [None, None, 1, 1],
    [None, None, 3, None],
]

# Fleiss (1971), his example: 30 patients, each diagnosed by six psychiatrists (1 depression,
# 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other). The paper prints counts per
# category; these rows are the transcription shipped as `diagnoses` in R's irr package.
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip

# Wikipedia, "Fleiss' kappa", worked example: ten subjects, fourteen raters, five categories
# (counts per category).
WIKIPEDIA_FLEISS = _from_counts(
    [
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ]
)  # fmt: skip

# The 20 x 3 `anxiety` ratings of R's irr package (Gamer et al.), one row per subject.
ANXIETY = [
    [3, 3, 2], [3, 6, 1], [3, 4, 4], [4, 6, 4], [5, 2, 3], [5, 4, 2], [2, 2, 1], [3, 4, 6],
    [5, 3, 1], [2, 3, 1], [2, 2, 1], [6, 3, 2], [1, 3, 3], [5, 3, 3], [2, 2, 1], [2, 2, 1],
    [1, 1, 3], [2, 3, 3], [4, 3, 2], [3, 4, 2],
]  # fmt: skip

# Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed.: the 3 x 3 table of two
# abstractors classifying 100 pregnancies, `cont3x3abstractors` in his irrCAC package.
ABSTRACTORS = _from_table([[13, 0, 0], [0, 20, 7], [0, 4, 56]], ["Ectopic", "AIU", "NIU"])

# Cohen (1960), his example: two judges, three categories, N = 200 (the paper prints proportions
# .44 .07 .09 / .05 .20 .05 / .01 .03 .06).
COHEN_1960 = _from_table([[88, 14, 18], [10, 40, 10], [2, 6, 12]], [1, 2, 3])


# --- The F distribution ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "d1", "d2", "printed"),
    [
        # NIST/SEMATECH e-Handbook of Statistical Methods, 1.3.6.7.3, upper critical values
        (0.95, 1, 10, 4.965),
        (0.95, 2, 10, 4.103),
        (0.95, 3, 10, 3.708),
        (0.95, 4, 10, 3.478),
        (0.95, 5, 10, 3.326),
        (0.95, 10, 10, 2.978),
        (0.90, 5, 10, 2.522),
        (0.99, 1, 10, 10.044),
        (0.99, 5, 10, 5.636),
        (0.99, 10, 10, 4.849),
    ],
)
def test_f_quantiles_match_the_nist_table(p: float, d1: int, d2: int, printed: float) -> None:
    assert f_quantile(p, d1, d2) == pytest.approx(printed, abs=5e-4)


def test_f_quantiles_match_closed_forms() -> None:
    # F(1, 1) is the square of a Cauchy variable: F_0.95(1, 1) = tan(0.475 pi)^2 = 161.4476
    assert f_quantile(0.95, 1, 1) == pytest.approx(math.tan(0.475 * math.pi) ** 2, rel=1e-12)
    for p in (0.025, 0.5, 0.975):
        for d in (0.5, 1.0, 7.0, 39.7, 1e4):
            # d1 = 2: P(F <= x) = 1 - (1 + 2x/d2)^(-d2/2), so x = d2/2 ((1 - p)^(-2/d2) - 1)
            expected = d / 2 * math.expm1(-2 / d * math.log1p(-p))
            assert f_quantile(p, 2, d) == pytest.approx(expected, rel=1e-10)
            # d2 = 2: P(F <= x) = y^(d1/2), y = d1 x / (d1 x + 2), so x = 2y / (d1 (1 - y))
            y = p ** (2 / d)
            expected = 2 * y / (d * -math.expm1(2 / d * math.log(p)))
            assert f_quantile(p, d, 2) == pytest.approx(expected, rel=1e-10)


def test_incomplete_beta_matches_closed_forms() -> None:
    for x in (1e-9, 0.01, 0.3, 0.5, 0.77, 0.999999):
        assert regularized_incomplete_beta(x, 3.5, 1) == pytest.approx(x**3.5, rel=1e-12)
        assert regularized_incomplete_beta(x, 1, 2.5) == pytest.approx(1 - (1 - x) ** 2.5, 1e-12)
        arcsine = 2 / math.pi * math.asin(math.sqrt(x))
        assert regularized_incomplete_beta(x, 0.5, 0.5) == pytest.approx(arcsine, rel=1e-12)


@PROPERTY
@given(
    p=st.floats(min_value=1e-6, max_value=1 - 1e-6),
    d1=st.floats(min_value=0.2, max_value=5e4),
    d2=st.floats(min_value=0.2, max_value=5e4),
)
def test_f_quantile_inverts_the_distribution_and_mirrors(p: float, d1: float, d2: float) -> None:
    x = f_quantile(p, d1, d2)
    assume(0 < x < 1e300)
    assert f_cdf(x, d1, d2) == pytest.approx(p, rel=1e-9, abs=1e-12)
    assert 1 / f_quantile(1 - p, d2, d1) == pytest.approx(x, rel=1e-8)


def test_distribution_functions_refuse_impossible_arguments() -> None:
    for call in (
        lambda: f_quantile(0.0, 1, 1),
        lambda: f_quantile(1.0, 1, 1),
        lambda: f_quantile(0.5, 0, 1),
        lambda: f_quantile(0.5, 1, math.inf),
        lambda: f_cdf(math.nan, 1, 1),
        lambda: regularized_incomplete_beta(1.5, 1, 1),
    ):
        with pytest.raises(ValueError):
            call()
    assert f_cdf(-1, 3, 4) == 0.0 and f_cdf(math.inf, 3, 4) == 1.0


# --- Two raters: percent agreement and Cohen's kappa ----------------------------------------


def test_cohen_1960_example() -> None:
    # Cohen (1960): p_o = .70, p_c = .41, kappa = .29 / .59 = .492
    assert percent_agreement(*COHEN_1960) == pytest.approx(0.70)
    assert cohens_kappa(*COHEN_1960) == pytest.approx(0.492, abs=5e-4)


def test_wikipedia_two_by_two_examples() -> None:
    # Wikipedia, "Cohen's kappa": 50 grant proposals, p_o = 0.7, p_e = 0.5, kappa = 0.4; and the
    # two tables with the same p_o = 0.60 but kappa 0.1304 and 0.2593 (prevalence and bias).
    assert cohens_kappa(*_from_table([[20, 5], [10, 15]], "YN")) == pytest.approx(0.4)
    assert cohens_kappa(*_from_table([[45, 15], [25, 15]], "YN")) == pytest.approx(0.1304, 1e-3)
    assert cohens_kappa(*_from_table([[25, 35], [5, 35]], "YN")) == pytest.approx(0.2593, 1e-3)


def test_gwet_abstractors_example() -> None:
    # irrCAC README / reference manual (Gwet): Cohen's kappa 0.7964094, quadratic weights
    # 0.8921569, percent agreement 0.89, AC1 0.8493305.
    first, second = ABSTRACTORS
    assert percent_agreement(first, second) == pytest.approx(0.89)
    assert cohens_kappa(first, second) == pytest.approx(0.7964094, abs=5e-8)
    order = ["Ectopic", "AIU", "NIU"]
    weighted = cohens_kappa(first, second, "quadratic", categories=order)
    assert weighted == pytest.approx(0.8921569, abs=5e-8)
    assert gwet_ac1([[x, y] for x, y in zip(first, second, strict=True)]) == pytest.approx(
        0.8493305, abs=5e-8
    )


def test_weighted_kappa_matches_irr_and_sas() -> None:
    # R irr, kappa2(anxiety[, 2:3]) with weights unweighted / "equal" / "squared", as recorded
    # in statsmodels' test suite: -0.006289308, 0.1459075, 0.2520325. irr places the levels
    # used (1, 2, 3, 4, 6) at equal steps, which is what `categories` says here.
    second = [row[1] for row in ANXIETY]
    third = [row[2] for row in ANXIETY]
    scale = [1, 2, 3, 4, 6]
    assert cohens_kappa(second, third) == pytest.approx(-0.006289308, abs=5e-10)
    linear = cohens_kappa(second, third, "linear", categories=scale)
    assert linear == pytest.approx(0.1459075, abs=5e-8)
    quadratic = cohens_kappa(second, third, "quadratic", categories=scale)
    assert quadratic == pytest.approx(0.2520325, abs=5e-8)
    # SAS PROC FREQ (AGREE) output for the 3 x 3 table below, also in statsmodels' tests:
    # simple kappa 0.4842, weighted kappa (Cicchetti-Allison, i.e. linear) 0.4701.
    sas = _from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]], [0, 1, 2])
    assert cohens_kappa(*sas) == pytest.approx(0.4842, abs=5e-5)
    assert cohens_kappa(*sas, "linear", categories=[0, 1, 2]) == pytest.approx(0.4701, abs=5e-5)


def test_weights_use_the_whole_scale_unused_categories_included() -> None:
    a = ["low", "moderate", "very high", "low", "very high", "moderate"]
    b = ["low", "very high", "very high", "moderate", "moderate", "moderate"]
    used = cohens_kappa(a, b, "linear", categories=["low", "moderate", "very high"])
    scale = cohens_kappa(a, b, "linear", categories=["low", "moderate", "high", "very high"])
    # kappa_w = 1 - mean observed distance / mean distance of all pairings (Cohen 1968).
    # Positions 0, 1, 2: observed distances sum to 3 over 6 subjects, all 36 pairings to 30.
    assert used == pytest.approx(1 - (3 / 6) / (30 / 36))
    # An unused step between moderate and very high (positions 0, 1, 3): 5 and 46.
    assert scale == pytest.approx(1 - (5 / 6) / (46 / 36))
    # With two categories in use every weighting gives plain kappa (the weight cancels out).
    a, b = ["low", "moderate", "low", "moderate"], ["low", "moderate", "moderate", "moderate"]
    weighted = cohens_kappa(a, b, "quadratic", categories=["low", "moderate", "high"])
    assert weighted == pytest.approx(cohens_kappa(a, b)) == pytest.approx(0.5)


# --- Many raters: Fleiss' kappa and Gwet's AC1 ----------------------------------------------


def test_fleiss_1971_example() -> None:
    # Fleiss (1971): kappa = .430; R irr kappam.fleiss(diagnoses) = 0.4302445.
    assert fleiss_kappa(FLEISS_1971) == pytest.approx(0.4302445, abs=5e-8)


def test_wikipedia_fleiss_example() -> None:
    # Wikipedia, "Fleiss' kappa": P = 0.378, P_e = 0.213, kappa = 0.210.
    assert fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx(0.210, abs=5e-4)


def test_gwet_handbook_examples() -> None:
    # irrCAC README (Gwet): `distrib.6raters`, the first 15 patients of Fleiss (1971):
    # Fleiss' kappa 0.4139265, AC1 0.4448007.
    first_fifteen = FLEISS_1971[:15]
    assert fleiss_kappa(first_fifteen) == pytest.approx(0.4139265, abs=5e-8)
    assert gwet_ac1(first_fifteen) == pytest.approx(0.4448007, abs=5e-8)
    # `cac.raw4raters` (Gwet 2014, p. 120; Krippendorff's data), raters with missing ratings:
    # AC1 0.77544 (pa 0.8181818, pe 0.1903212), Fleiss' generalized kappa 0.76117.
    assert gwet_ac1(KRIPPENDORFF) == pytest.approx(0.77544, abs=5e-6)
    assert fleiss_kappa(KRIPPENDORFF) == pytest.approx(0.76117, abs=5e-6)


def test_unequal_numbers_of_raters_reduce_to_fleiss_when_equal() -> None:
    complete = [row for row in KRIPPENDORFF if None not in row]
    missing_left_out = [[v for v in row if v is not None] for row in complete]
    assert fleiss_kappa(complete) == fleiss_kappa(missing_left_out)
    # A subject rated once adds to the prevalences only; an empty one changes nothing.
    assert fleiss_kappa([*KRIPPENDORFF, [None, None]]) == fleiss_kappa(KRIPPENDORFF)


def test_ac1_needs_the_scale_when_everyone_agrees_on_one_category() -> None:
    same = [["low", "low"], ["low", "low", "low"]]
    with pytest.raises(AgreementError):
        gwet_ac1(same)
    assert gwet_ac1(same, categories=["low", "moderate", "high"]) == 1.0
    with pytest.raises(AgreementError):
        fleiss_kappa(same)


# --- Krippendorff's alpha -------------------------------------------------------------------


def test_krippendorff_2011_example() -> None:
    # Krippendorff (2011): nominal .743, ordinal .815, interval .849.
    assert krippendorff_alpha(KRIPPENDORFF) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF, "ordinal") == pytest.approx(0.815, abs=5e-4)
    assert krippendorff_alpha(KRIPPENDORFF, "interval") == pytest.approx(0.849, abs=5e-4)
    # The same data as labels on an ordered scale give the same ordinal alpha.
    names = {1: "none", 2: "low", 3: "moderate", 4: "high", 5: "very high"}
    labelled = [[None if v is None else names[v] for v in row] for row in KRIPPENDORFF]
    by_label = krippendorff_alpha(labelled, "ordinal", categories=list(names.values()))
    assert by_label == krippendorff_alpha(KRIPPENDORFF, "ordinal")
    # irrCAC krippen.alpha.raw(cac.raw4raters) prints 0.74342 for the nominal case.
    assert krippendorff_alpha(labelled) == pytest.approx(0.74342, abs=5e-6)


# --- Intraclass correlations ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "printed"),
    [
        ("ICC(1,1)", 0.17),
        ("ICC(2,1)", 0.29),
        ("ICC(3,1)", 0.71),
        ("ICC(1,k)", 0.44),
        ("ICC(2,k)", 0.62),
        ("ICC(3,k)", 0.91),
    ],
)
def test_shrout_fleiss_1979_table(form: IccForm, printed: float) -> None:
    # Shrout & Fleiss (1979): the six values they compute for these data (the k = 4
    # forms are printed there as ICC(1,4), ICC(2,4), ICC(3,4)).
    assert icc(SHROUT_FLEISS, form) == pytest.approx(printed, abs=5e-3)


@pytest.mark.parametrize(
    ("form", "low", "high"),
    [
        # R psych::ICC(Shrout-Fleiss data), 95% bounds as printed (lower to 3, upper to 2
        # decimals), reproduced e.g. in Wollschläger's "R Examples Repository".
        ("ICC(1,1)", -0.133, 0.72),
        ("ICC(2,1)", 0.019, 0.76),
        ("ICC(3,1)", 0.342, 0.95),
        ("ICC(1,k)", -0.884, 0.91),
        ("ICC(2,k)", 0.071, 0.93),
        ("ICC(3,k)", 0.676, 0.99),
    ],
)
def test_mcgraw_wong_intervals_match_psych(form: IccForm, low: float, high: float) -> None:
    found_low, found_high = icc_interval(SHROUT_FLEISS, form)
    assert found_low == pytest.approx(low, abs=5e-4)
    assert found_high == pytest.approx(high, abs=5e-3)


def test_absolute_agreement_interval_matches_irr() -> None:
    # R irr, icc(anxiety, "twoway", "agreement"): ICC(A,1) = 0.198, F(19, 39.7),
    # 95% interval -0.039 < ICC < 0.494.
    assert icc(ANXIETY, "ICC(2,1)") == pytest.approx(0.198, abs=5e-4)
    low, high = icc_interval(ANXIETY, "ICC(2,1)")
    assert low == pytest.approx(-0.039, abs=5e-4)
    assert high == pytest.approx(0.494, abs=5e-4)


def test_form_descriptions_and_levels() -> None:
    assert icc_form_description("ICC(2,1)") == (
        "two-way random effects, absolute agreement, single rater"
    )
    assert set(ICC_FORMS) == set(FORMS)
    narrow = icc_interval(SHROUT_FLEISS, "ICC(2,1)", level=0.80)
    wide = icc_interval(SHROUT_FLEISS, "ICC(2,1)", level=0.99)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_perfect_agreement_and_flat_subjects() -> None:
    perfect = [[1, 1, 1], [2, 2, 2], [4, 4, 4]]
    for form in FORMS:
        assert icc(perfect, form) == 1.0
        assert icc_interval(perfect, form) == (1.0, 1.0)
    # Subjects that do not differ while raters do: single-rater one-way ICC is -1/(k - 1),
    # the average forms divide by zero and are refused.
    flat = [[1, 2, 3], [3, 2, 1], [2, 2, 2]]
    assert icc(flat, "ICC(1,1)") == pytest.approx(-0.5)
    for form in ("ICC(1,k)", "ICC(3,k)"):
        with pytest.raises(AgreementError):
            icc(flat, form)
    # Raters differ by a constant, subjects not at all: ICC(2,1) is 0, its interval undefined;
    # so is the interval of a negative ICC(2,1), where McGraw & Wong's approximation fails.
    shifted = [[1, 2], [1, 2], [1, 2]]
    assert icc(shifted, "ICC(2,1)") == 0.0
    disagreeing = [[0, 3], [1, 1]]
    assert icc(disagreeing, "ICC(2,1)") == pytest.approx(-0.8)
    for table in (shifted, disagreeing):
        for form in ("ICC(2,1)", "ICC(2,k)"):
            with pytest.raises(AgreementError):
                icc_interval(table, form)  # type: ignore[arg-type]


# --- Interpretation bands -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (-0.2, "poor"),
        (-0.006, "poor"),
        (0.0, "slight"),
        (0.204, "slight"),
        (0.206, "fair"),
        (0.40, "fair"),
        (0.41, "moderate"),
        (0.60, "moderate"),
        (0.61, "substantial"),
        (0.80, "substantial"),
        (0.81, "almost_perfect"),
        (1.0, "almost_perfect"),
    ],
)
def test_landis_koch_bands(value: float, code: str) -> None:
    assert interpret_kappa(value).code == code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (-3.0, "poor"),
        (0.49, "poor"),
        (0.50, "moderate"),
        (0.7449, "moderate"),
        (0.75, "good"),
        (0.90, "good"),
        (0.904, "good"),
        (0.91, "excellent"),
        (1.0, "excellent"),
    ],
)
def test_koo_li_bands(value: float, code: str) -> None:
    assert interpret_icc(value).code == code


def test_bands_are_complete_and_labelled() -> None:
    assert [b.code for b in LANDIS_KOCH_1977] == [
        "poor",
        "slight",
        "fair",
        "moderate",
        "substantial",
        "almost_perfect",
    ]
    assert [b.code for b in KOO_LI_2016] == ["poor", "moderate", "good", "excellent"]
    assert interpret_kappa(0.5).label == "Moderate agreement"
    assert interpret_icc(0.8).label == "Good reliability"
    for bad in (math.nan, math.inf, 1.01, True):
        with pytest.raises(AgreementError):
            interpret_kappa(bad)  # type: ignore[arg-type]
        with pytest.raises(AgreementError):
            interpret_icc(bad)  # type: ignore[arg-type]


# --- Refused input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: percent_agreement([], []),
        lambda: percent_agreement(["a"], ["a", "b"]),
        lambda: percent_agreement(["a", None], ["a", "b"]),
        lambda: percent_agreement(["a", math.nan], ["a", "b"]),
        lambda: percent_agreement("ab", "ab"),
        lambda: cohens_kappa(["a", ["b"]], ["a", "b"]),
        lambda: cohens_kappa(["a", "a"], ["a", "a"]),
        lambda: cohens_kappa(["a", "a"], ["a", "a"], categories=["a", "b"]),
        lambda: cohens_kappa(["a", "b"], ["a", "b"], "linear"),
        lambda: cohens_kappa(["a", "b"], ["a", "b"], "cubic", categories=["a", "b"]),  # type: ignore[arg-type]
        lambda: cohens_kappa(["a", "b"], ["a", "c"], categories=["a", "b"]),
        lambda: cohens_kappa(["a", "b"], ["a", "b"], categories=["a", "b", "a"]),
        lambda: cohens_kappa(["a", "b"], ["a", "b"], "linear", categories=["a"]),
        lambda: cohens_kappa(["a", "b"], ["a", "b"], categories="ab"),
        lambda: fleiss_kappa([]),
        lambda: fleiss_kappa([[None, None], [None]]),
        lambda: fleiss_kappa([["a"], ["b"]]),
        lambda: fleiss_kappa([["a", "a"], ["a", "a"]]),
        lambda: fleiss_kappa([["a", math.nan], ["a", "b"]]),
        lambda: fleiss_kappa(["ab", "ab"]),
        lambda: gwet_ac1([["a", "b"], ["a", "c"]], categories=["a", "b"]),
        lambda: krippendorff_alpha([[1, 1], [2]]),
        lambda: krippendorff_alpha([[1, 2, 3]]),
        lambda: krippendorff_alpha([[1], [2]]),
        lambda: krippendorff_alpha([[1, None], [None, 2]]),
        lambda: krippendorff_alpha([[1, 1], [1, 1], [1, None]]),
        lambda: krippendorff_alpha([[1, 2], [2, 2]], "ratio"),  # type: ignore[arg-type]
        lambda: krippendorff_alpha([["a", "b"], ["b", "b"]], "interval"),
        lambda: krippendorff_alpha([["a", "b"], ["b", "b"]], "ordinal"),
        lambda: krippendorff_alpha([[1, 2], [2, 2]], "interval", categories=[1, 2]),
        lambda: krippendorff_alpha([[1, math.nan], [2, 2]], "interval"),
        lambda: icc([[1, 2, 3]], "ICC(2,1)"),
        lambda: icc([[1], [2], [3]], "ICC(2,1)"),
        lambda: icc([[1, 2], [2]], "ICC(2,1)"),
        lambda: icc([[1, 2], [2, None]], "ICC(2,1)"),
        lambda: icc([[1, 2], [2, math.nan]], "ICC(2,1)"),
        lambda: icc([[1, 2], [2, math.inf]], "ICC(2,1)"),
        lambda: icc([[1, 2], [2, True]], "ICC(2,1)"),
        lambda: icc([[1, 2], [2, "3"]], "ICC(2,1)"),
        lambda: icc([[5, 5], [5, 5]], "ICC(1,1)"),
        lambda: icc(SHROUT_FLEISS, "ICC(2,4)"),  # type: ignore[arg-type]
        lambda: icc_interval(SHROUT_FLEISS, "ICC(2,1)", level=1.0),
        lambda: icc_interval(SHROUT_FLEISS, "ICC(2,1)", level=math.nan),
        lambda: icc_interval(SHROUT_FLEISS, "ICC(2,1)", level=True),
        lambda: icc_form_description("ICC(4,1)"),  # type: ignore[arg-type]
    ],
)
def test_unusable_input_is_refused_with_an_agreement_error(call: Callable[[], object]) -> None:
    with pytest.raises(AgreementError) as caught:
        call()
    error = caught.value
    assert isinstance(error, ValueError)
    assert str(error) == error.message % error.params if error.params else error.message


def test_the_error_message_names_the_subject() -> None:
    with pytest.raises(AgreementError) as caught:
        icc([[1, 2], [3, 4], [5, None]], "ICC(3,1)")
    assert caught.value.params == {"subject": 3, "rater": 2}
    assert str(caught.value) == "Subject 3, rater 2: the rating is missing or not a number."


def test_messages_and_labels_have_swedish_translations_with_the_same_placeholders() -> None:
    with (CATALOGUE / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale="sv")
    texts = [band.label for band in (*LANDIS_KOCH_1977, *KOO_LI_2016)] + list(ICC_FORMS.values())
    for module in (alpha, bands, icc_module, kappa, ratings):
        texts += [v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)]
    assert len(texts) > 40
    for text in texts:
        entry = catalogue.get(text)
        assert entry is not None and entry.string, text
        assert sorted(re.findall(r"%\(\w+\)[sd]", entry.string)) == sorted(
            re.findall(r"%\(\w+\)[sd]", text)
        ), text
    with pytest.raises(AgreementError) as caught:
        icc([[1, 2], [3, None]], "ICC(3,1)")
    swedish = catalogue.get(caught.value.message).string % caught.value.params
    assert swedish == "Fall 2, bedömare 2: bedömningen saknas eller är inte ett tal."


@pytest.mark.parametrize("form", FORMS)
def test_every_icc_form_refuses_identical_ratings(form: IccForm) -> None:
    same = [[3, 3, 3], [3, 3, 3]]
    with pytest.raises(AgreementError):
        icc(same, form)
    with pytest.raises(AgreementError):
        icc_interval(same, form)


# --- Properties -----------------------------------------------------------------------------

LABELS = st.sampled_from(["low", "moderate", "high"])
SCALE = ["low", "moderate", "high"]


@st.composite
def _two_raters(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    n = draw(st.integers(min_value=1, max_value=30))
    return draw(st.lists(LABELS, min_size=n, max_size=n)), draw(
        st.lists(LABELS, min_size=n, max_size=n)
    )


@PROPERTY
@given(pair=_two_raters())
def test_percent_agreement_and_kappa_are_symmetric(pair: tuple[list[str], list[str]]) -> None:
    a, b = pair
    agreement = percent_agreement(a, b)
    assert 0.0 <= agreement <= 1.0 and agreement == percent_agreement(b, a)
    for weights in (None, "linear", "quadratic"):
        try:
            kappa = cohens_kappa(a, b, weights, categories=SCALE)  # type: ignore[arg-type]
        except AgreementError:
            assert len(set(a) | set(b)) == 1  # refused only when one category is all there is
            continue
        assert -1.0 <= kappa <= 1.0
        assert kappa == pytest.approx(cohens_kappa(b, a, weights, categories=SCALE))  # type: ignore[arg-type]


@PROPERTY
@given(a=st.lists(LABELS, min_size=2, max_size=30))
def test_kappa_of_identical_lists_is_one(a: list[str]) -> None:
    assume(len(set(a)) >= 2)
    assert percent_agreement(a, a) == 1.0
    assert cohens_kappa(a, a) == 1.0
    assert cohens_kappa(a, a, "quadratic", categories=SCALE) == 1.0


@PROPERTY
@given(pair=_two_raters())
def test_unweighted_kappa_ignores_what_the_labels_are_called(
    pair: tuple[list[str], list[str]],
) -> None:
    a, b = pair
    rename = {"low": 3, "moderate": 1, "high": 2}
    try:
        kappa = cohens_kappa(a, b)
    except AgreementError:
        return
    assert cohens_kappa([rename[x] for x in a], [rename[x] for x in b]) == kappa


@st.composite
def _table(draw: st.DrawFn, missing: bool, values: st.SearchStrategy[object]) -> list[list]:
    n = draw(st.integers(min_value=2, max_value=12))
    k = draw(st.integers(min_value=2, max_value=6))
    cell = st.one_of(st.none(), values) if missing else values
    return [draw(st.lists(cell, min_size=k, max_size=k)) for _ in range(n)]


@PROPERTY
@given(
    table=_table(missing=True, values=st.integers(min_value=1, max_value=4)),
    rng=st.randoms(use_true_random=False),
)
def test_alpha_and_multi_rater_kappas_ignore_order_of_raters_and_subjects(
    table: list[list[int | None]], rng: Random
) -> None:
    shuffled = [row[:] for row in table]
    rng.shuffle(shuffled)
    columns = list(range(len(table[0])))
    rng.shuffle(columns)
    shuffled = [[row[j] for j in columns] for row in shuffled]
    for statistic in (
        krippendorff_alpha,
        lambda t: krippendorff_alpha(t, "ordinal"),
        lambda t: krippendorff_alpha(t, "interval"),
        fleiss_kappa,
        gwet_ac1,
    ):
        try:
            value = statistic(table)
        except AgreementError:
            with pytest.raises(AgreementError):
                statistic(shuffled)
            continue
        assert statistic(shuffled) == pytest.approx(value, rel=1e-12, abs=1e-12)


@PROPERTY
@given(pair=_two_raters())
def test_alpha_of_two_raters_is_scotts_pi_corrected_for_sample_size(
    pair: tuple[list[str], list[str]],
) -> None:
    # Krippendorff (2011): for two raters and no missing data, nominal alpha is
    # 1 - (2N - 1) / (2N) (1 - pi), pi being Scott's pi, which is Fleiss' kappa for two raters.
    a, b = pair
    rows = [[x, y] for x, y in zip(a, b, strict=True)]
    assume(len(rows) >= 2)
    try:
        pi = fleiss_kappa(rows)
    except AgreementError:
        return
    n = len(rows)
    assert krippendorff_alpha(rows) == pytest.approx(1 - (2 * n - 1) / (2 * n) * (1 - pi))


NUMBERS = st.integers(min_value=0, max_value=48)


@PROPERTY
@given(
    table=_table(missing=False, values=NUMBERS),
    rng=st.randoms(use_true_random=False),
    scale=st.integers(min_value=1, max_value=7),
    shift=st.integers(min_value=-5, max_value=5),
)
def test_icc_is_invariant_to_order_and_units(
    table: list[list[int]], rng: Random, scale: int, shift: int
) -> None:
    reordered = [row[:] for row in table]
    rng.shuffle(reordered)
    columns = list(range(len(table[0])))
    rng.shuffle(columns)
    reordered = [[scale * row[j] / 2 + shift for j in columns] for row in reordered]
    for form in FORMS:
        try:
            value = icc(table, form)
        except AgreementError:
            with pytest.raises(AgreementError):
                icc(reordered, form)
            continue
        assert icc(reordered, form) == pytest.approx(value, rel=1e-9, abs=1e-12)


@PROPERTY
@given(table=_table(missing=False, values=NUMBERS), level=st.sampled_from([0.8, 0.95, 0.99]))
def test_icc_interval_holds_the_estimate(table: list[list[int]], level: float) -> None:
    for form in FORMS:
        try:
            value = icc(table, form)
            low, high = icc_interval(table, form, level)
        except AgreementError:
            continue
        assert math.isfinite(low) and math.isfinite(high)
        assert low - 1e-9 <= value <= high + 1e-9
        assert high <= 1.0


@PROPERTY
@given(table=_table(missing=False, values=NUMBERS), offsets=st.lists(NUMBERS, min_size=6))
def test_consistency_forms_ignore_a_rater_who_is_always_higher(
    table: list[list[int]], offsets: list[int]
) -> None:
    shifted = [[x + offsets[j] for j, x in enumerate(row)] for row in table]
    for form in ("ICC(3,1)", "ICC(3,k)"):
        try:
            value = icc(table, form)
        except AgreementError:
            continue
        assert icc(shifted, form) == pytest.approx(value, rel=1e-9, abs=1e-12)  # type: ignore[arg-type]


ANYTHING = st.one_of(
    st.none(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.5, -0.0, math.nan, math.inf, True, "low", "high", ""]),
    st.lists(st.integers(), max_size=1),
)


@PROPERTY
@given(
    ragged=st.lists(st.lists(ANYTHING, max_size=4), max_size=5),
    table=st.one_of(
        _table(missing=True, values=st.integers(min_value=0, max_value=2)),
        _table(missing=False, values=st.integers(min_value=0, max_value=2)),
    ),
)
def test_no_input_crashes_or_gives_nan(ragged: list[list[object]], table: list[list]) -> None:
    """Whatever the lists hold, each function returns a finite number or an AgreementError."""
    calls: list[Callable[[list[list]], object]] = [
        lambda t: fleiss_kappa(t),
        lambda t: gwet_ac1(t),
        lambda t: gwet_ac1(t, categories=[0, 1, 2]),
        lambda t: krippendorff_alpha(t),
        lambda t: krippendorff_alpha(t, "ordinal"),
        lambda t: krippendorff_alpha(t, "interval"),
        lambda t: percent_agreement(*t[:2]) if len(t) >= 2 else percent_agreement([], []),
        lambda t: (
            cohens_kappa(*t[:2], "linear", categories=[0, 1, 2])
            if len(t) >= 2
            else cohens_kappa([], [])
        ),
        *[lambda t, f=form: icc(t, f) for form in FORMS],
        *[lambda t, f=form: icc_interval(t, f) for form in FORMS],
    ]
    for data in (ragged, table):
        for call in calls:
            try:
                result = call(data)
            except AgreementError:
                continue
            values = result if isinstance(result, tuple) else (result,)
            assert all(isinstance(v, float) and math.isfinite(v) for v in values)
