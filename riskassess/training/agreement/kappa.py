"""Chance-corrected agreement on categories: percent agreement, Cohen's kappa (weighted or not)
for two raters, Fleiss' kappa and Gwet's AC1 for any number of raters.

All of them compare the observed agreement p_o with the agreement p_e expected by chance,
(p_o - p_e) / (1 - p_e); they differ in how p_e is estimated. Counts are kept as exact fractions,
so "expected agreement is exactly 1" is a test for equality, not for a rounding residue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from fractions import Fraction
from typing import Literal

from riskassess.errors import N_

from .ratings import (
    ALL_THE_SAME,
    DIFFERENT_LENGTHS,
    MISSING_PAIR_RATING,
    NO_PAIRS,
    NO_RATINGS,
    AgreementError,
    as_list,
    category_order,
    check_known,
    label,
)

Weights = Literal["linear", "quadratic"]

UNKNOWN_WEIGHTS = N_("The weights must be linear or quadratic, or none for unweighted kappa.")
CATEGORIES_REQUIRED = N_("Weighted kappa needs the categories in their order, lowest first.")


def _pairs(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[Hashable, Hashable]]:
    first, second = as_list(a), as_list(b)
    if len(first) != len(second):
        raise AgreementError(DIFFERENT_LENGTHS, first=len(first), second=len(second))
    if not first:
        raise AgreementError(NO_RATINGS)
    pairs = []
    for subject, (x, y) in enumerate(zip(first, second, strict=True), start=1):
        if x is None or y is None:
            raise AgreementError(MISSING_PAIR_RATING, subject=subject)
        pairs.append((label(x, subject), label(y, subject)))
    return pairs


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """The share of subjects (0..1) on which two raters gave the same label.

    a[i] and b[i] are the two raters' labels for subject i; the lists must be equally long,
    non-empty and complete (None is refused: leave out subjects one rater skipped)."""
    pairs = _pairs(a, b)
    return sum(1 for x, y in pairs if x == y) / len(pairs)


def _agreement_weight(weights: Weights | None, q: int) -> Callable[[int, int], Fraction]:
    """w(i, j) for categories at positions i and j of an ordered scale of q categories: 1 for
    agreement, falling linearly or quadratically to 0 for the two ends of the scale (Cohen 1968
    states the same coefficient with disagreement weights v = 1 - w; Fleiss & Cohen 1973 for
    the quadratic ones). Without weights every disagreement counts fully."""
    if weights is None:
        return lambda i, j: Fraction(int(i == j))
    span = q - 1
    if weights == "linear":
        return lambda i, j: 1 - Fraction(abs(i - j), span)
    return lambda i, j: 1 - Fraction((i - j) ** 2, span**2)


def cohens_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    weights: Weights | None = None,
    *,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa for two raters (Cohen 1960), or weighted kappa (Cohen 1968).

    kappa = (p_o - p_e) / (1 - p_e), with p_o = sum_ij w_ij p_ij the (weighted) observed
    agreement and p_e = sum_ij w_ij p_i. p_.j the agreement expected from the two raters'
    own category frequencies.

    weights: None (every disagreement counts fully), "linear" or "quadratic" (a disagreement
        costs in proportion to the distance, or squared distance, between the categories on the
        ordered scale; the quadratic form approximates an ICC, Fleiss & Cohen 1973).
    categories: the scale in its order, lowest first, e.g. ["low", "moderate", "high"].
        Required with weights, because the weights depend on each category's position on the
        scale, unused ones included. Without weights it is optional and only checks that every
        label is known; it does not change the value.

    Raises AgreementError for empty, unequal or incomplete lists, unknown labels, and when the
    expected agreement is 1, which happens only when both raters put every subject in one and
    the same category: kappa is then 0/0, undefined (Cohen 1960's coefficient divides by
    1 - p_e). No conventional 1 or 0 is returned in its place: Feinstein & Cicchetti (1990)
    show how kappa misleads at extreme prevalence, and Cicchetti & Feinstein (1990) recommend
    reporting the proportions of agreement beside it; show percent_agreement (or gwet_ac1 with
    the categories given) instead.
    """
    pairs = _pairs(a, b)
    order = category_order(categories)
    if weights is not None and weights not in ("linear", "quadratic"):
        raise AgreementError(UNKNOWN_WEIGHTS)
    if weights is not None and order is None:
        raise AgreementError(CATEGORIES_REQUIRED)
    if order is None:
        order = {}
        for x, y in pairs:
            order.setdefault(x, len(order))
            order.setdefault(y, len(order))
    else:
        for subject, (x, y) in enumerate(pairs, start=1):
            check_known(x, order, subject)
            check_known(y, order, subject)
    weight = _agreement_weight(weights, len(order))
    n = len(pairs)
    joint = Counter((order[x], order[y]) for x, y in pairs)
    first = Counter(i for i, _ in joint.elements())
    second = Counter(j for _, j in joint.elements())
    observed = sum((weight(i, j) * count for (i, j), count in joint.items()), Fraction(0)) / n
    expected = sum(
        (weight(i, j) * first[i] * second[j] for i in first for j in second), Fraction(0)
    ) / (n * n)
    if expected == 1:
        raise AgreementError(ALL_THE_SAME)
    return float((observed - expected) / (1 - expected))


def _subject_counts(
    ratings: Sequence[Sequence[Hashable | None]], categories: Sequence[Hashable] | None
) -> tuple[list[Counter[Hashable]], int]:
    """Per rated subject, how many raters chose each category; and the number of categories
    (the given ones, or those used)."""
    order = category_order(categories)
    used: set[Hashable] = set()
    subjects: list[Counter[Hashable]] = []
    for subject, row in enumerate(as_list(ratings), start=1):
        counts: Counter[Hashable] = Counter()
        for value in as_list(row):
            if value is None:
                continue
            checked = label(value, subject)
            check_known(checked, order, subject)
            counts[checked] += 1
        if counts:
            subjects.append(counts)
            used.update(counts)
    if not subjects:
        raise AgreementError(NO_RATINGS)
    if all(counts.total() < 2 for counts in subjects):
        raise AgreementError(NO_PAIRS)
    return subjects, len(order) if order is not None else len(used)


def _observed_and_prevalence(
    subjects: list[Counter[Hashable]],
) -> tuple[Fraction, dict[Hashable, Fraction]]:
    """p_a, the mean over subjects rated at least twice of the share of agreeing rater pairs,
    and pi_k, the mean over rated subjects of the share of their ratings in category k
    (Gwet 2014, Handbook of Inter-Rater Reliability, 4th ed., ch. 2: the multiple-rater formulas
    for incomplete designs, which are Fleiss' own when every subject has the same raters)."""
    agreements = []
    prevalence: dict[Hashable, Fraction] = {}
    for counts in subjects:
        r = counts.total()
        if r >= 2:
            agreements.append(
                Fraction(sum(c * (c - 1) for c in counts.values()), r * (r - 1)),
            )
        for category, c in counts.items():
            prevalence[category] = prevalence.get(category, Fraction(0)) + Fraction(c, r)
    observed = sum(agreements, Fraction(0)) / len(agreements)
    return observed, {k: share / len(subjects) for k, share in prevalence.items()}


def fleiss_kappa(
    ratings: Sequence[Sequence[Hashable | None]],
    *,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Fleiss' kappa (Fleiss 1971) for any number of raters on a nominal scale.

    ratings: per subject, the list of the labels its raters gave, e.g. [["low", "low", "high"],
        ["high", "high", "high"], ...]. The raters need not be the same people for every
        subject. None stands for a rating that was not given and is left out.
    categories: optional; checks that every label is known and does not change the value.

    kappa = (P - P_e) / (1 - P_e), P the mean over subjects of the share of agreeing rater
    pairs, P_e = sum_k pi_k^2 with pi_k the share of ratings in category k.

    When subjects have different numbers of ratings (a trainee skipped an item, or None marks
    a missing rating), Fleiss' formulas, which assume the same number n of raters per subject,
    are replaced by Gwet's generalization (Handbook of Inter-Rater Reliability, 4th ed., 2014):
    P averages over the subjects rated at least twice, pi_k averages each rated subject's own
    shares r_ik / r_i. With equal numbers this is exactly Fleiss' kappa; a subject rated only
    once adds to pi_k and nothing to P; an empty subject is ignored. Krippendorff's alpha is the
    other established choice for incomplete data.

    Raises AgreementError when nothing is rated, no subject has two ratings, or every rating
    falls in one category (P_e = 1: undefined, see cohens_kappa).
    """
    subjects, _ = _subject_counts(ratings, categories)
    observed, prevalence = _observed_and_prevalence(subjects)
    expected = sum((share * share for share in prevalence.values()), Fraction(0))
    if expected == 1:
        raise AgreementError(ALL_THE_SAME)
    return float((observed - expected) / (1 - expected))


def gwet_ac1(
    ratings: Sequence[Sequence[Hashable | None]],
    *,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Gwet's AC1 (Gwet 2008, Br J Math Stat Psychol 61:29-48) for any number of raters.

    ratings: as for fleiss_kappa (per subject the raters' labels, None for a missing rating;
        subjects may have different numbers of ratings, with the same treatment).
    categories: the scale's categories. AC1's chance agreement depends on their number q,
        unused ones included, so give them whenever some were not used: with the scale
        ["low", "moderate", "high"] q is 3 even if nobody rated "moderate". Without them q is
        the number of categories used.

    AC1 = (P - P_e) / (1 - P_e) with P as in Fleiss' kappa and
    P_e = sum_k pi_k (1 - pi_k) / (q - 1), which stays small when one category dominates: AC1
    does not collapse at extreme prevalence the way kappa does. With the categories given it is
    defined even when every rating is the same (it is then 1).

    Raises AgreementError when nothing is rated, no subject has two ratings, or fewer than two
    categories are known (every rating the same and no categories given).
    """
    subjects, q = _subject_counts(ratings, categories)
    if q < 2:
        raise AgreementError(ALL_THE_SAME)
    observed, prevalence = _observed_and_prevalence(subjects)
    expected = sum((share * (1 - share) for share in prevalence.values()), Fraction(0)) / (q - 1)
    # expected <= 1/q < 1 for q >= 2, so the denominator is positive
    return float((observed - expected) / (1 - expected))
