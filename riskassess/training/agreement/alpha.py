"""Krippendorff's alpha for nominal, ordinal and interval ratings, with missing ratings allowed.

Computed from the coincidence matrix as in Krippendorff (2011), "Computing Krippendorff's
Alpha-Reliability", Annenberg School for Communication, University of Pennsylvania:

    alpha = 1 - (n - 1) * sum_ck o_ck delta2_ck / sum_ck n_c n_k delta2_ck

o_ck counts the pairs of values c, k that two different raters gave the same subject, each
subject's m_u values weighted by 1 / (m_u - 1); n_c = sum_k o_ck; n is the number of pairable
values (those of subjects with at least two ratings).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from fractions import Fraction
from typing import Literal

from riskassess.errors import N_

from .ratings import (
    ALL_THE_SAME,
    NO_PAIRS,
    AgreementError,
    category_order,
    check_known,
    label,
    number,
    table_rows,
)

Level = Literal["nominal", "ordinal", "interval"]

UNKNOWN_LEVEL = N_("The level of measurement must be nominal, ordinal or interval.")
ORDER_REQUIRED = N_(
    "Ordinal alpha needs numeric ratings, or the categories in their order, lowest first."
)
NO_CATEGORIES_FOR_INTERVAL = N_("Interval alpha takes numeric ratings, not a list of categories.")


def _value_reader(
    level: Level, order: dict[Hashable, int] | None
) -> Callable[[object, int, int], Hashable]:
    """How one rating becomes a value: a label (nominal), a position on the scale or a number
    (ordinal), a number (interval)."""

    def nominal(value: object, subject: int, rater: int) -> Hashable:
        checked = label(value, subject)
        check_known(checked, order, subject)
        return checked

    def ordinal_by_category(value: object, subject: int, rater: int) -> Hashable:
        checked = nominal(value, subject, rater)
        assert order is not None
        return order[checked]

    def numeric(value: object, subject: int, rater: int) -> Hashable:
        try:
            return number(value, subject, rater)
        except AgreementError as error:
            if level == "ordinal":
                raise AgreementError(ORDER_REQUIRED) from error
            raise

    if level == "nominal":
        return nominal
    if level == "ordinal" and order is not None:
        return ordinal_by_category
    return numeric


def _ordinal_distances(
    totals: dict[Hashable, Fraction],
) -> dict[tuple[Hashable, Hashable], Fraction]:
    """delta2_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2 over the values in their order
    (Krippendorff 2011, ordinal metric); values no one used have n_g = 0 and change nothing."""
    ranked = sorted(totals)  # type: ignore[type-var]  # positions or Fractions: all comparable
    distances: dict[tuple[Hashable, Hashable], Fraction] = {}
    for i, c in enumerate(ranked):
        between = Fraction(0)
        for k in ranked[i:]:
            between += totals[k]
            delta = (between - (totals[c] + totals[k]) / 2) ** 2
            distances[c, k] = distances[k, c] = delta
    return distances


def krippendorff_alpha(
    ratings: Sequence[Sequence[object]],
    level: Level = "nominal",
    *,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Krippendorff's alpha (Krippendorff 2011) for a table of ratings.

    ratings: one row per subject, one column per rater, None where a rater gave no rating.
        Rows must be equally long. Subjects with fewer than two ratings cannot be paired and
        are left out, as the coefficient prescribes.
    level: "nominal" (labels, any disagreement counts fully), "ordinal" (ranks: a disagreement
        counts by how many ratings lie between the two values) or "interval" (numbers:
        squared difference).
    categories: for ordinal ratings that are not numbers, the scale in its order, lowest first
        (e.g. ["low", "moderate", "high"]); for nominal ratings an optional check that every
        label is known. Interval ratings must be numbers and take no categories.

    Raises AgreementError for ragged tables, fewer than two subjects or raters, invalid ratings,
    when no subject has two ratings, and when all pairable ratings are the same value: the
    expected disagreement is then 0 and alpha = 0/0 is undefined.
    """
    if level not in ("nominal", "ordinal", "interval"):
        raise AgreementError(UNKNOWN_LEVEL)
    if level == "interval" and categories is not None:
        raise AgreementError(NO_CATEGORIES_FOR_INTERVAL)
    order = category_order(categories)
    read = _value_reader(level, order)
    units: list[Counter[Hashable]] = []
    for subject, row in enumerate(table_rows(ratings), start=1):
        values: Counter[Hashable] = Counter(
            read(value, subject, rater)
            for rater, value in enumerate(row, start=1)
            if value is not None
        )
        if values.total() >= 2:
            units.append(values)
    if not units:
        raise AgreementError(NO_PAIRS)

    coincidences: dict[tuple[Hashable, Hashable], Fraction] = {}
    for values in units:
        pairs_per_value = values.total() - 1
        for c, n_c in values.items():
            for k, n_k in values.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    share = Fraction(pairs, pairs_per_value)
                    coincidences[c, k] = coincidences.get((c, k), Fraction(0)) + share
    totals: dict[Hashable, Fraction] = {}
    for (c, _), count in coincidences.items():
        totals[c] = totals.get(c, Fraction(0)) + count
    n = sum(totals.values(), Fraction(0))

    if level == "nominal":

        def delta2(c: Hashable, k: Hashable) -> Fraction:
            return Fraction(int(c != k))

    elif level == "interval":

        def delta2(c: Hashable, k: Hashable) -> Fraction:
            assert isinstance(c, Fraction) and isinstance(k, Fraction)
            return (c - k) ** 2

    else:
        distances = _ordinal_distances(totals)

        def delta2(c: Hashable, k: Hashable) -> Fraction:
            return distances[c, k]

    observed = sum((count * delta2(c, k) for (c, k), count in coincidences.items()), Fraction(0))
    expected = sum(
        (totals[c] * totals[k] * delta2(c, k) for c in totals for k in totals), Fraction(0)
    )
    if expected == 0:
        raise AgreementError(ALL_THE_SAME)
    return float(1 - (n - 1) * observed / expected)
