"""The demo's fictional children keep the age they are seeded with, whatever the day."""

from __future__ import annotations

from datetime import date

import pytest

from riskassess.cases.services import age_on
from riskassess.training.seed import CASES, _birth_date


@pytest.mark.parametrize(
    "today",
    [date(2030, 1, 1), date(2030, 3, 13), date(2030, 3, 14), date(2030, 3, 20), date(2030, 12, 31)],
)
def test_a_seeded_child_is_exactly_the_age_given(today: date) -> None:
    # 14 March itself and the days after it in March were a year off before.
    for spec in CASES:
        assert age_on(_birth_date(spec.age, today), today) == spec.age, (spec.name, today)
