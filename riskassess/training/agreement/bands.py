"""Verbal bands for agreement coefficients: Landis & Koch (1977) for kappa-type coefficients,
Koo & Li (2016) for intraclass correlations.

Landis, J. R. & Koch, G. G. (1977). The measurement of observer agreement for categorical
data. Biometrics 33(1), 159-174 (the benchmark table on p. 165).
Koo, T. K. & Li, M. Y. (2016). A guideline of selecting and reporting intraclass correlation
coefficients for reliability research. Journal of Chiropractic Medicine 15(2), 155-163.

Both tables are stated in two decimals (Landis & Koch: 0.00-0.20 slight, 0.21-0.40 fair, ...),
so a value is placed by its two-decimal rounding, the figure shown beside the band: 0.204 shows
as 0.20 and is slight, 0.206 shows as 0.21 and is fair. Each band is given by the lowest
two-decimal value it holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from numbers import Real

from riskassess.errors import N_

from .ratings import AgreementError

NOT_A_COEFFICIENT = N_("An agreement coefficient must be a number no greater than 1.")


@dataclass(frozen=True)
class Band:
    """One band of an interpretation table. `label` is English, marked for translation:
    translate it with gettext for display."""

    code: str
    label: str
    minimum: Decimal | None  # lowest two-decimal value in the band; None: no lower end


# Landis & Koch (1977): "< 0.00 poor, 0.00-0.20 slight, 0.21-0.40 fair, 0.41-0.60 moderate,
# 0.61-0.80 substantial, 0.81-1.00 almost perfect". Written for kappa; commonly used for the
# other chance-corrected coefficients (Fleiss' kappa, Gwet's AC1, Krippendorff's alpha) too.
LANDIS_KOCH_1977: tuple[Band, ...] = (
    Band("poor", N_("Poor agreement"), None),
    Band("slight", N_("Slight agreement"), Decimal("0.00")),
    Band("fair", N_("Fair agreement"), Decimal("0.21")),
    Band("moderate", N_("Moderate agreement"), Decimal("0.41")),
    Band("substantial", N_("Substantial agreement"), Decimal("0.61")),
    Band("almost_perfect", N_("Almost perfect agreement"), Decimal("0.81")),
)

# Koo & Li (2016): "below 0.50 poor, between 0.50 and 0.75 moderate, between 0.75 and 0.90
# good, above 0.90 excellent". The shared ends are resolved as 0.75 good and 0.90 good (only
# values above 0.90 are excellent). Koo & Li ask that the band be judged on the 95% confidence
# interval rather than the point estimate alone, so show both ends' bands beside the estimate.
KOO_LI_2016: tuple[Band, ...] = (
    Band("poor", N_("Poor reliability"), None),
    Band("moderate", N_("Moderate reliability"), Decimal("0.50")),
    Band("good", N_("Good reliability"), Decimal("0.75")),
    Band("excellent", N_("Excellent reliability"), Decimal("0.91")),
)


def _band(value: object, bands: tuple[Band, ...]) -> Band:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise AgreementError(NOT_A_COEFFICIENT)
    shown = Decimal(f"{float(value):.2f}")
    if shown > 1:
        raise AgreementError(NOT_A_COEFFICIENT)
    chosen = bands[0]
    for band in bands:
        if band.minimum is not None and shown >= band.minimum:
            chosen = band
    return chosen


def interpret_kappa(value: float) -> Band:
    """The Landis & Koch (1977) band of a kappa-type coefficient (Cohen's or Fleiss' kappa,
    AC1, alpha); AgreementError for NaN, infinities and values above 1."""
    return _band(value, LANDIS_KOCH_1977)


def interpret_icc(value: float) -> Band:
    """The Koo & Li (2016) band of an intraclass correlation (or of either end of its
    confidence interval); negative values are poor; AgreementError for NaN, infinities and
    values above 1."""
    return _band(value, KOO_LI_2016)
