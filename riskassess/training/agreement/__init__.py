"""Agreement statistics for rater training: how far trainees agree with each other and with an
expert reference rating of the same fictional vignettes.

Plain functions on plain lists, each checked in tests/unit/test_agreement.py against values
published with the method or in well-known textbooks and implementations:

- percent_agreement(a, b), cohens_kappa(a, b, weights=None, categories=None): two raters.
- fleiss_kappa(ratings), gwet_ac1(ratings): any number of raters, ratings per subject.
- krippendorff_alpha(ratings, level): subjects x raters, None for a missing rating.
- icc(ratings, form), icc_interval(ratings, form, level): intraclass correlations of Shrout &
  Fleiss (1979) with McGraw & Wong (1996) intervals; icc_form_description(form) names the form.
- interpret_kappa(value), interpret_icc(value): the Landis & Koch (1977) and Koo & Li (2016)
  bands, as Band(code, label) with the label marked for translation.

Input these statistics cannot use (empty lists, one rater or subject, missing values where none
are allowed, every rating the same where that leaves the coefficient 0/0) raises AgreementError,
a ValueError whose `message` and `params` give a translatable sentence; no function returns NaN
or lets a ZeroDivisionError through.
"""

from __future__ import annotations

from .alpha import Level, krippendorff_alpha
from .bands import KOO_LI_2016, LANDIS_KOCH_1977, Band, interpret_icc, interpret_kappa
from .icc import ICC_FORMS, IccForm, icc, icc_form_description, icc_interval
from .kappa import Weights, cohens_kappa, fleiss_kappa, gwet_ac1, percent_agreement
from .ratings import AgreementError

__all__ = [
    "ICC_FORMS",
    "KOO_LI_2016",
    "LANDIS_KOCH_1977",
    "AgreementError",
    "Band",
    "IccForm",
    "Level",
    "Weights",
    "cohens_kappa",
    "fleiss_kappa",
    "gwet_ac1",
    "icc",
    "icc_form_description",
    "icc_interval",
    "interpret_icc",
    "interpret_kappa",
    "krippendorff_alpha",
    "percent_agreement",
]
