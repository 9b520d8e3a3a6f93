"""Intraclass correlations of Shrout & Fleiss (1979) and their confidence intervals after
McGraw & Wong (1996).

Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
reliability. Psychological Bulletin 86(2), 420-428.
McGraw, K. O. & Wong, S. P. (1996). Forming inferences about some intraclass correlation
coefficients. Psychological Methods 1(1), 30-46 (Table 7; correction in 1(4), 390).

Ratings form a table of n subjects (rows) by k raters (columns). From the two-way analysis of
variance come the mean squares for subjects (BMS), within subjects (WMS), raters (JMS) and
residual (EMS), computed here in exact fractions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from numbers import Real
from typing import Literal, cast

from riskassess.errors import N_

from .distributions import f_quantile
from .ratings import AgreementError, number, table_rows

IccForm = Literal["ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)"]

# Each form in the words of Koo & Li (2016), for display beside the value.
ICC_FORMS: dict[str, str] = {
    "ICC(1,1)": N_("one-way random effects, absolute agreement, single rater"),
    "ICC(2,1)": N_("two-way random effects, absolute agreement, single rater"),
    "ICC(3,1)": N_("two-way mixed effects, consistency, single rater"),
    "ICC(1,k)": N_("one-way random effects, absolute agreement, mean of the raters"),
    "ICC(2,k)": N_("two-way random effects, absolute agreement, mean of the raters"),
    "ICC(3,k)": N_("two-way mixed effects, consistency, mean of the raters"),
}

UNKNOWN_FORM = N_(
    "Unknown ICC form: use ICC(1,1), ICC(2,1), ICC(3,1), ICC(1,k), ICC(2,k) or ICC(3,k)."
)
ICC_UNDEFINED = N_(
    "The subjects' ratings differ too little from one another for this ICC: it is undefined "
    "for these ratings."
)
INTERVAL_UNDEFINED = N_("The confidence interval of this ICC is undefined for these ratings.")
BAD_LEVEL = N_("The confidence level must lie between 0 and 1, for example 0.95.")


@dataclass(frozen=True)
class MeanSquares:
    """The two-way ANOVA of a complete subjects x raters table, as in Shrout & Fleiss (1979)."""

    n: int  # subjects
    k: int  # raters
    bms: Fraction  # between subjects, df n - 1
    wms: Fraction  # within subjects, df n(k - 1)
    jms: Fraction  # between raters, df k - 1
    ems: Fraction  # residual, df (n - 1)(k - 1)


def mean_squares(ratings: Sequence[Sequence[float]]) -> MeanSquares:
    """The mean squares of a table with one row per subject and one number per rater; every
    cell must hold a finite number (AgreementError otherwise)."""
    exact = [
        [number(value, subject, rater) for rater, value in enumerate(row, start=1)]
        for subject, row in enumerate(table_rows(ratings), start=1)
    ]
    # On a common denominator every rating is an integer, so the sums below are exact and fast
    # (floats are binary fractions: their common denominator is the largest power of two).
    scale = math.lcm(*(x.denominator for row in exact for x in row))
    table = [[x.numerator * (scale // x.denominator) for x in row] for row in exact]
    n, k = len(table), len(table[0])
    row_sums = [sum(row) for row in table]
    column_sums = [sum(row[j] for row in table) for j in range(k)]
    grand_sum = sum(row_sums)
    squares = scale * scale
    # Sums of squares by the computational formulas, exact, hence free of cancellation.
    correction = Fraction(grand_sum * grand_sum, n * k)
    total = (sum(x * x for row in table for x in row) - correction) / squares
    between_subjects = (Fraction(sum(s * s for s in row_sums), k) - correction) / squares
    between_raters = (Fraction(sum(s * s for s in column_sums), n) - correction) / squares
    within = total - between_subjects
    residual = within - between_raters
    return MeanSquares(
        n=n,
        k=k,
        bms=between_subjects / (n - 1),
        wms=within / (n * (k - 1)),
        jms=between_raters / (k - 1),
        ems=residual / ((n - 1) * (k - 1)),
    )


def _checked_form(form: object) -> IccForm:
    if not isinstance(form, str) or form not in ICC_FORMS:
        raise AgreementError(UNKNOWN_FORM)
    return cast(IccForm, form)


def icc_form_description(form: IccForm) -> str:
    """The form in words, e.g. "two-way random effects, absolute agreement, single rater",
    in English marked for translation (translate it with gettext for display)."""
    return ICC_FORMS[_checked_form(form)]


def _ratio(numerator: Fraction, denominator: Fraction) -> Fraction:
    if denominator <= 0:
        raise AgreementError(ICC_UNDEFINED)
    return numerator / denominator


def estimate(ms: MeanSquares, form: IccForm) -> Fraction:
    """The ICC of the given form from the mean squares (Shrout & Fleiss 1979):

    ICC(1,1) = (BMS - WMS) / (BMS + (k - 1) WMS)
    ICC(2,1) = (BMS - EMS) / (BMS + (k - 1) EMS + k (JMS - EMS) / n)
    ICC(3,1) = (BMS - EMS) / (BMS + (k - 1) EMS)
    ICC(1,k) = (BMS - WMS) / BMS
    ICC(2,k) = (BMS - EMS) / (BMS + (JMS - EMS) / n)
    ICC(3,k) = (BMS - EMS) / BMS

    A form whose denominator is zero or negative is undefined for the data (every rating the
    same, or subjects' means that do not differ at all); AgreementError then.
    """
    n, k, bms, wms, jms, ems = ms.n, ms.k, ms.bms, ms.wms, ms.jms, ms.ems
    match _checked_form(form):
        case "ICC(1,1)":
            return _ratio(bms - wms, bms + (k - 1) * wms)
        case "ICC(2,1)":
            return _ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n)
        case "ICC(3,1)":
            return _ratio(bms - ems, bms + (k - 1) * ems)
        case "ICC(1,k)":
            return _ratio(bms - wms, bms)
        case "ICC(2,k)":
            return _ratio(bms - ems, bms + (jms - ems) / n)
        case _:  # "ICC(3,k)"
            return _ratio(bms - ems, bms)


def icc(ratings: Sequence[Sequence[float]], form: IccForm) -> float:
    """The intraclass correlation of the given form (Shrout & Fleiss 1979).

    ratings: one row per subject, one column per rater, every cell a number (no missing
        ratings: drop incomplete subjects first, or use Krippendorff's interval alpha).
    form: "ICC(1,1)", "ICC(2,1)", "ICC(3,1)" for a single rater's reliability, "ICC(1,k)",
        "ICC(2,k)", "ICC(3,k)" for the mean of the k raters. 1: one-way model (each subject
        rated by different raters); 2: raters a random sample, absolute agreement (what rater
        training usually wants: would another trained rater give the same score?); 3: these
        raters only, consistency (a rater who is always one point higher is not penalized).

    Needs at least two subjects and two raters. Raises AgreementError for invalid tables and
    where the form is undefined for the data (see estimate). The average-rater forms can be far
    below -1 when raters disagree more than subjects differ.
    """
    return float(estimate(mean_squares(ratings), form))


def _bound(p0: float, p1: float, q0: float, q1: float, f: float) -> float:
    """(p0 + p1 f) / (q0 + q1 f), its limit p1 / q1 when f is infinite; AgreementError when
    the denominator is not positive."""
    if f == float("inf"):
        numerator, denominator = p1, q1
    else:
        numerator, denominator = p0 + p1 * f, q0 + q1 * f
    if not denominator > 0:
        raise AgreementError(INTERVAL_UNDEFINED)
    return numerator / denominator


def _checked_level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, Real) or not 0 < float(level) < 1:
        raise AgreementError(BAD_LEVEL)
    return float(level)


def icc_interval(
    ratings: Sequence[Sequence[float]], form: IccForm, level: float = 0.95
) -> tuple[float, float]:
    """(low, high): the confidence interval of icc(ratings, form) at the given level, by the
    F-distribution formulas of McGraw & Wong (1996), Table 7, alpha = 1 - level:

    One-way, ICC(1,1) and ICC(1,k) (their ICC(1), ICC(k)): F = BMS / WMS,
        F_L = F / F_(1-alpha/2)(n - 1, n(k - 1)),  F_U = F * F_(1-alpha/2)(n(k - 1), n - 1);
        single: (F_L - 1) / (F_L + k - 1) to (F_U - 1) / (F_U + k - 1);
        mean of k: 1 - 1 / F_L to 1 - 1 / F_U.
    Consistency, ICC(3,1) and ICC(3,k) (their ICC(C,1), ICC(C,k)): the same with
        F = BMS / EMS and (n - 1)(k - 1) in place of n(k - 1).
    Absolute agreement, ICC(2,1) and ICC(2,k) (their ICC(A,1), ICC(A,k)): with p the ICC(2,1)
        estimate, a = k p / (n (1 - p)), b = 1 + k p (n - 1) / (n (1 - p)) and Satterthwaite's
        v = (a JMS + b EMS)^2 / ((a JMS)^2 / (k - 1) + (b EMS)^2 / ((n - 1)(k - 1))),
        F* = F_(1-alpha/2)(n - 1, v) for the lower and F_(1-alpha/2)(v, n - 1) for the upper:
        single: n (BMS - F* EMS) / (F* (k JMS + (kn - k - n) EMS) + n BMS) and
                n (F* BMS - EMS) / (k JMS + (kn - k - n) EMS + n F* BMS);
        mean of k: n (BMS - F* EMS) / (F* (JMS - EMS) + n BMS) and
                   n (F* BMS - EMS) / (JMS - EMS + n F* BMS).

    These are the bounds R's psych::ICC reports. Where the estimate is exactly 1 (no residual
    or within-subject variance at all) the interval is (1.0, 1.0). Raises AgreementError where
    the estimate is undefined (see icc), for a level outside (0, 1), and for absolute agreement
    when the ICC(2,1) estimate is 0 or negative: Satterthwaite's approximation then has a
    non-positive coefficient and its "interval" can lie wholly beside the estimate (such
    agreement is poor whatever the interval; show the estimate alone).
    """
    chosen = _checked_form(form)
    upper_p = 1.0 - (1.0 - _checked_level(level)) / 2.0
    ms = mean_squares(ratings)
    estimate(ms, chosen)  # refuses the data where the form itself is undefined
    n, k = ms.n, ms.k
    average = chosen.endswith("k)")
    if chosen.startswith(("ICC(1", "ICC(3")):
        one_way = chosen.startswith("ICC(1")
        noise = ms.wms if one_way else ms.ems
        if noise == 0:
            return 1.0, 1.0
        df_noise = n * (k - 1) if one_way else (n - 1) * (k - 1)
        observed = float(ms.bms / noise)
        f_low = observed / f_quantile(upper_p, n - 1, df_noise)
        f_high = observed * f_quantile(upper_p, df_noise, n - 1)
        if average:
            return 1.0 - 1.0 / f_low, 1.0 - 1.0 / f_high
        return (f_low - 1.0) / (f_low + k - 1.0), (f_high - 1.0) / (f_high + k - 1.0)

    if ms.ems == 0 and ms.jms == 0:
        return 1.0, 1.0
    rho = estimate(ms, "ICC(2,1)")  # < 1 here: it is 1 only without rater and residual variance
    if rho <= 0:
        # Satterthwaite's v approximates a sum of mean squares with positive coefficients; with
        # rho <= 0 the coefficient a is not positive and the "interval" need not even hold the
        # estimate (it can fall wholly below it), so none is given.
        raise AgreementError(INTERVAL_UNDEFINED)
    a = k * rho / (n * (1 - rho))
    b = 1 + a * (n - 1)
    numerator = (a * ms.jms + b * ms.ems) ** 2
    denominator = (a * ms.jms) ** 2 / (k - 1) + (b * ms.ems) ** 2 / ((n - 1) * (k - 1))
    if numerator == 0 or denominator == 0:
        raise AgreementError(INTERVAL_UNDEFINED)
    v = float(numerator / denominator)
    f_low = f_quantile(upper_p, n - 1, v)
    f_high = f_quantile(upper_p, v, n - 1)
    bms, jms, ems = float(ms.bms), float(ms.jms), float(ms.ems)
    spread = (jms - ems) if average else (k * jms + (k * n - k - n) * ems)
    low = _bound(n * bms, -n * ems, n * bms, spread, f_low)
    high = _bound(-n * ems, n * bms, spread, n * bms, f_high)
    return low, high
