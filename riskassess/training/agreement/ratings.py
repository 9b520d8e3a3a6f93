"""Checking rating input, and the error every agreement statistic raises when it cannot answer.

Ratings arrive as plain lists: two raters' labels, a list of labels per subject, or a table with
one row per subject and one column per rater. Every check here ends in an AgreementError with a
sentence a trainer can act on, never in a TypeError, ZeroDivisionError or NaN further down.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from fractions import Fraction
from numbers import Number, Rational, Real

from riskassess.errors import N_

NO_RATINGS = N_("There are no ratings.")
NOT_A_LIST = N_("The ratings must be given as a list.")
CATEGORIES_NOT_A_LIST = N_("The categories must be given as a list.")
DIFFERENT_LENGTHS = N_("The two raters' lists differ in length (%(first)d and %(second)d).")
MISSING_PAIR_RATING = N_(
    "Subject %(subject)d lacks a rating from one of the two raters; use Krippendorff's alpha "
    "when ratings are missing."
)
NOT_A_LABEL = N_("Subject %(subject)d has a rating that is not a category (%(rating)s).")
UNKNOWN_CATEGORY = N_("Subject %(subject)d has a rating outside the categories (%(rating)s).")
DUPLICATE_CATEGORY = N_("The category %(category)s is listed twice.")
TOO_FEW_CATEGORIES = N_("At least two categories are needed.")
UNEVEN_ROWS = N_(
    "Every subject needs one entry per rater: subject %(subject)d has %(found)d, "
    "the first subject has %(expected)d."
)
TOO_FEW_SUBJECTS = N_("At least two subjects are needed.")
TOO_FEW_RATERS = N_("At least two raters are needed.")
NOT_A_NUMBER = N_("Subject %(subject)d, rater %(rater)d: the rating is missing or not a number.")
NO_PAIRS = N_("No subject was rated by two or more raters.")
ALL_THE_SAME = N_(
    "All ratings fall in one category, so agreement by chance is complete and the coefficient "
    "is undefined; report the percent agreement instead."
)


class AgreementError(ValueError):
    """The ratings do not allow the statistic asked for.

    `message` is an English sentence marked for translation (N_) with %(name)s placeholders and
    `params` fills them: show it with gettext(error.message, **error.params). str(error) is the
    English sentence with the placeholders filled."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


def describe(value: object) -> str:
    """A short, safe rendering of a rejected rating for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def as_list(ratings: object) -> list[object]:
    """The ratings as a list; a string, a mapping or anything that is not a sequence is refused."""
    if isinstance(ratings, str | bytes) or not isinstance(ratings, Sequence):
        raise AgreementError(NOT_A_LIST)
    return list(ratings)


def is_missing_number(value: object) -> bool:
    """True for a NaN of any numeric type (float, Decimal, numpy), never a valid rating."""
    if not isinstance(value, Number):
        return False
    try:
        return bool(value != value)  # NaN alone is unequal to itself
    except ArithmeticError:  # a signalling Decimal NaN refuses even to be compared
        return True


def label(value: object, subject: int) -> Hashable:
    """value as a category label; None, NaN and unhashable values are refused."""
    if value is None or is_missing_number(value) or not isinstance(value, Hashable):
        raise AgreementError(NOT_A_LABEL, subject=subject, rating=describe(value))
    try:
        hash(value)
    except TypeError:  # a tuple holding a list, for example
        raise AgreementError(NOT_A_LABEL, subject=subject, rating=describe(value)) from None
    return value


def category_order(categories: Sequence[Hashable] | None) -> dict[Hashable, int] | None:
    """Each category's position in the given order, after checking the list; None stays None."""
    if categories is None:
        return None
    if isinstance(categories, str | bytes) or not isinstance(categories, Sequence):
        raise AgreementError(CATEGORIES_NOT_A_LIST)
    order: dict[Hashable, int] = {}
    for position, category in enumerate(categories, start=1):
        checked = label(category, position)
        if checked in order:
            raise AgreementError(DUPLICATE_CATEGORY, category=describe(checked))
        order[checked] = len(order)
    if len(order) < 2:
        raise AgreementError(TOO_FEW_CATEGORIES)
    return order


def check_known(value: Hashable, order: dict[Hashable, int] | None, subject: int) -> None:
    """Refuses a label outside the given categories (nothing to check without them)."""
    if order is not None and value not in order:
        raise AgreementError(UNKNOWN_CATEGORY, subject=subject, rating=describe(value))


def number(value: object, subject: int, rater: int) -> Fraction:
    """A finite real rating as an exact fraction; booleans, None, NaN and infinities refused.

    Floats convert to fractions exactly, so sums of squares are exact and a table whose ratings
    are all equal gives exactly zero variance rather than a rounding residue."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise AgreementError(NOT_A_NUMBER, subject=subject, rater=rater)
    if isinstance(value, Rational):  # int, Fraction, numpy integers
        return Fraction(int(value.numerator), int(value.denominator))
    as_float = float(value)
    if not math.isfinite(as_float):
        raise AgreementError(NOT_A_NUMBER, subject=subject, rater=rater)
    return Fraction(as_float)


def table_rows(ratings: object) -> list[list[object]]:
    """A subjects x raters table as a list of equally long rows of at least two subjects and
    two raters."""
    rows = [as_list(row) for row in as_list(ratings)]
    if not rows:
        raise AgreementError(NO_RATINGS)
    width = len(rows[0])
    for subject, row in enumerate(rows, start=1):
        if len(row) != width:
            raise AgreementError(UNEVEN_ROWS, subject=subject, found=len(row), expected=width)
    if len(rows) < 2:
        raise AgreementError(TOO_FEW_SUBJECTS)
    if width < 2:
        raise AgreementError(TOO_FEW_RATERS)
    return rows
