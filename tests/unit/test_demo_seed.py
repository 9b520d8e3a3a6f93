"""The demo's fictional children keep the age they are seeded with, whatever the day, and its
follow-up sample has what the statistics page needs."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from riskassess.cases.services import age_on
from riskassess.training.fictional import fictional_personnummer
from riskassess.training.followup_sample import sample_children
from riskassess.training.seed import CASES, _birth_date


@pytest.mark.parametrize(
    "today",
    [date(2030, 1, 1), date(2030, 3, 13), date(2030, 3, 14), date(2030, 3, 20), date(2030, 12, 31)],
)
def test_a_seeded_child_is_exactly_the_age_given(today: date) -> None:
    # 14 March itself and the days after it in March were a year off before.
    for spec in CASES:
        assert age_on(_birth_date(spec.age, today), today) == spec.age, (spec.name, today)


@pytest.mark.parametrize("today", [date(2030, 1, 1), date(2030, 3, 14), date(2030, 12, 31)])
def test_the_follow_up_sample_fits_savry_and_the_default_year(today: date) -> None:
    """The sample is aged 12 to 17 at each approval (SAVRY's range, so starting it is never
    refused), and every approval, reassessments included, lies in the last twelve months,
    which the statistics page shows by default."""
    for child in sample_children():
        born = child.birth_date(today)
        first = today - timedelta(days=child.approved_days_ago)
        assert age_on(born, first) == child.age, child.name
        assert 12 <= child.age <= 17
        assert today - timedelta(days=364) <= first < today
        if child.reassessment is not None:
            again = first + timedelta(days=child.reassessment.after_days)
            assert first < again < today and 12 <= age_on(born, again) <= 18
        assert 12 <= age_on(born, today) <= 18, child.name


def test_the_follow_up_sample_has_what_the_statistics_need() -> None:
    """86 assessments of 72 children in both units, both sexes, every judgement, some
    reassessed (some by their due date of six months, most after it) and some children who
    could not be heard; names and personal identity numbers all different from each other
    and from the training cases'."""
    sample = sample_children()
    reassessed = [c for c in sample if c.reassessment is not None]
    assert (len(sample), len(reassessed)) == (72, 14)
    assert Counter((c.unit, c.sex) for c in sample) == {
        ("nord", "female"): 22,
        ("nord", "male"): 24,
        ("syd", "female"): 12,
        ("syd", "male"): 14,
    }
    assert Counter(c.unit for c in reassessed) == {"nord": 8, "syd": 6}
    for unit in ("nord", "syd"):
        levels = Counter(c.level for c in sample if c.unit == unit)
        assert min(levels[level] for level in ("low", "moderate", "high")) >= 5, unit
    on_time = [c for c in reassessed if c.reassessment and c.reassessment.after_days <= 182]
    assert 0 < len(on_time) < len(reassessed)
    assert 0 < sum(not c.is_heard for c in sample) < len(sample) // 4
    today = date(2030, 6, 1)
    numbers = [fictional_personnummer(c.birth_date(today), c.serial) for c in sample]
    numbers += [fictional_personnummer(_birth_date(s.age, today), s.serial) for s in CASES]
    assert len(set(numbers)) == len(numbers)
    names = [c.name for c in sample] + [s.name for s in CASES]
    assert len(set(names)) == len(names)
    # The serial's last digit tells the sex, as in a real number: odd for a boy.
    assert all(int(c.serial[2]) % 2 == (c.sex == "male") for c in sample)
