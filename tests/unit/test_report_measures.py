"""Every measure of the follow-up report, checked against a hand-made set of facts whose answers
were worked out by hand.

The set (SAVRY-style, 20 assessments, two units of ten; every count is 0 or at least 5, so
nothing is hidden and each figure is plain arithmetic):

    unit  who          level     rated High   S1   reason  child's view  days  kind (gap, on time)
    A     5 girls, 14  low       none         yes  no      heard            5  first
    A     5 boys, 16   high      H1-H6        no   no      heard           20  reassessed (100, yes)
    B     5 girls, 14  moderate  H1, K1, I1   yes  yes     not heard        5  first
    B     5 boys, 16   high      H1-H6        no   no      heard           40  reassessed (200, no)
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from riskassess.accounts.models import Unit
from riskassess.config import SHIPPED_INSTRUMENTS
from riskassess.instruments.definition import Instrument
from riskassess.instruments.loader import parse_instrument
from riskassess.reports.facts import Fact
from riskassess.reports.measures import Measure, Period, Report, Table, measures
from riskassess.reports.suppression import suppress_linked

PERIOD = Period(date(2026, 1, 1), date(2026, 12, 31))
A = Unit(id=uuid.UUID(int=1), code="a", name="Enhet A")
B = Unit(id=uuid.UUID(int=2), code="b", name="Enhet B")
C = Unit(id=uuid.UUID(int=3), code="c", name="Enhet C")
SIX = ("H1", "H2", "H3", "H4", "H5", "H6")


@pytest.fixture(scope="module")
def savry() -> Instrument:
    return parse_instrument(SHIPPED_INSTRUMENTS / "savry-style-1.0.toml")


def _fact(unit: Unit, sex: str, age: int, level: str, **kw: object) -> Fact:
    values: dict[str, object] = {
        "kind": "initial",
        "is_corrected": False,
        "top_risk": (),
        "protective": (),
        "needed_reason": False,
        "child_view": "heard",
        "days_to_approval": 5,
        "days_since_previous": None,
        "on_time": None,
    }
    values.update(kw)
    return Fact(unit_id=unit.id, sex=sex, age=age, level=level, **values)  # type: ignore[arg-type]


def _set() -> list[Fact]:
    girls_a = _fact(A, "female", 14, "low", protective=("S1",))
    boys_a = _fact(
        A, "male", 16, "high", top_risk=SIX, days_to_approval=20, kind="reassessment",
        days_since_previous=100, on_time=True,
    )  # fmt: skip
    girls_b = _fact(
        B, "female", 14, "moderate", top_risk=("H1", "K1", "I1"), protective=("S1",),
        needed_reason=True, child_view="not_heard",
    )  # fmt: skip
    boys_b = _fact(
        B, "male", 16, "high", top_risk=SIX, days_to_approval=40, kind="reassessment",
        days_since_previous=200, on_time=False,
    )  # fmt: skip
    return [girls_a] * 5 + [boys_a] * 5 + [girls_b] * 5 + [boys_b] * 5


def _values(table: Table) -> list[list[int | None]]:
    """The table's rows with their totals, then the totals row: as shown (None: hidden)."""
    counts = table.counts
    rows = [
        [c.value for c in cells] + [total.value]
        for cells, total in zip(counts.cells, counts.row_totals, strict=True)
    ]
    return [*rows, [c.value for c in counts.column_totals] + [counts.total.value]]


def _report(savry: Instrument) -> Report:
    return measures(savry, PERIOD, [A, B], _set(), missing=0)


def _by(measure: Measure | None, name: str) -> Table:
    assert measure is not None
    return dict(measure.tables)[name]


def test_the_groups_are_the_units_sexes_and_age_bands(savry: Instrument) -> None:
    report = _report(savry)
    assert report.assessed == 20
    kinds = report.kinds
    assert kinds is not None
    assert [row.label for row in kinds.by_unit.rows] == ["Enhet A", "Enhet B"]
    assert [row.code for row in _by(kinds, "sex").rows] == ["female", "male"]
    # Girls are all 14 and boys all 16: two bands, nobody between.
    assert [row.code for row in _by(kinds, "age").rows] == ["13-15", "16-17"]


def test_assessments_and_reassessments(savry: Instrument) -> None:
    report = _report(savry)
    assert report.kinds is not None and report.kinds.by_unit.columns == ("initial", "reassessment")
    assert _values(report.kinds.by_unit) == [[5, 5, 10], [5, 5, 10], [10, 10, 20]]
    assert _values(_by(report.kinds, "sex")) == [[10, 0, 10], [0, 10, 10], [10, 10, 20]]
    assert _values(_by(report.kinds, "age")) == [[10, 0, 10], [0, 10, 10], [10, 10, 20]]


def test_the_spread_of_judgements_and_similar_profiles(savry: Instrument) -> None:
    report = _report(savry)
    assert report.judgement is not None
    assert report.judgement.by_unit.columns == ("low", "moderate", "high")
    assert _values(report.judgement.by_unit) == [[5, 0, 5, 10], [0, 5, 5, 10], [5, 5, 10, 20]]
    assert _values(_by(report.judgement, "sex")) == [[5, 5, 0, 10], [0, 0, 10, 10], [5, 5, 10, 20]]
    # Profiles by the number of risk items rated High: A's girls have none, B's girls three,
    # every boy six.
    bands = dict(report.profiles)
    assert list(bands) == ["0-2", "3-5", "6-"]
    assert _values(bands["0-2"]) == [[5, 0, 0, 5], [0, 0, 0, 0], [5, 0, 0, 5]]
    assert _values(bands["3-5"]) == [[0, 0, 0, 0], [0, 5, 0, 5], [0, 5, 0, 5]]
    assert _values(bands["6-"]) == [[0, 0, 5, 5], [0, 0, 5, 5], [0, 0, 10, 10]]


def test_consistency_reasons_and_the_childs_view(savry: Instrument) -> None:
    report = _report(savry)
    assert report.consistency is not None and report.child_view is not None
    assert _values(report.consistency.by_unit) == [[0, 10, 10], [5, 5, 10], [5, 15, 20]]
    assert report.child_view.by_unit.columns == ("heard", "not_heard", "not_recorded")
    assert _values(report.child_view.by_unit) == [[10, 0, 0, 10], [5, 5, 0, 10], [15, 5, 0, 20]]
    assert _values(_by(report.child_view, "sex")) == [[5, 5, 0, 10], [10, 0, 0, 10], [15, 5, 0, 20]]


def test_times_to_approval_and_between_assessments(savry: Instrument) -> None:
    report = _report(savry)
    assert report.approval_days is not None
    assert report.approval_days.by_unit.columns == ("0-7", "8-14", "15-30", "31-60", "61-")
    assert _values(report.approval_days.by_unit) == [
        [5, 0, 5, 0, 0, 10],
        [5, 0, 0, 5, 0, 10],
        [10, 0, 5, 5, 0, 20],
    ]
    # Medians: A has five 5s and five 20s, (5 + 20) / 2; B (5 + 40) / 2; all twenty: the 10th
    # and 11th of ten 5s, five 20s and five 40s.
    median = report.approval_median
    assert median is not None
    assert median.values == (12.5, 22.5) and median.overall == 12.5
    assert report.reassessed is not None
    assert report.reassessed.by_unit.columns == (
        "not_reassessment",
        "on_time",
        "late",
        "no_due_date",
    )
    assert _values(report.reassessed.by_unit) == [
        [5, 5, 0, 0, 10],
        [5, 0, 5, 0, 10],
        [10, 5, 5, 0, 20],
    ]
    assert report.gap_days is not None
    assert report.gap_days.by_unit.columns == (
        "not_reassessment", "0-92", "93-183", "184-366", "367-", "no_previous",
    )  # fmt: skip
    assert _values(report.gap_days.by_unit) == [
        [5, 0, 5, 0, 0, 0, 10],
        [5, 0, 0, 5, 0, 0, 10],
        [10, 0, 5, 5, 0, 0, 20],
    ]


def test_the_factors_most_often_rated_high_and_present(savry: Instrument) -> None:
    report = _report(savry)
    # H1: every boy and B's girls (15); H2-H6: every boy (10); K1, I1: B's girls (5).
    assert [entry.item for entry in report.top_risk] == [
        "H1", "H2", "H3", "H4", "H5", "H6", "K1", "I1",
    ]  # fmt: skip
    h1, k1 = report.top_risk[0].measure, report.top_risk[6].measure
    assert _values(h1.by_unit) == [[5, 5, 10], [10, 0, 10], [15, 5, 20]]
    assert _values(_by(h1, "sex")) == [[5, 5, 10], [10, 0, 10], [15, 5, 20]]
    assert _values(k1.by_unit) == [[0, 10, 10], [5, 5, 10], [5, 15, 20]]
    [s1] = report.protective
    assert s1.item == "S1" and _values(s1.measure.by_unit) == [[5, 5, 10], [5, 5, 10], [10, 10, 20]]


def test_small_units_are_pooled_and_small_age_bands_merged(savry: Instrument) -> None:
    """Unit C has three assessments: alone it would show a small group, so it joins the
    smallest unit shown (A, ten; A before B at equal size) as "other units", 13. One girl of
    11 is alone in 10-12; her band joins its neighbour 13-15 (nobody is under 10, so that
    band is not there to join): the bands become 10-15 and 16-17."""
    extra = [_fact(C, "male", 16, "high")] * 3 + [_fact(B, "female", 11, "low")]
    report = measures(savry, PERIOD, [A, B, C], _set() + extra, missing=0)
    assert report.assessed == 24
    assert report.kinds is not None
    assert [(row.code, row.label) for row in report.kinds.by_unit.rows] == [
        (str(B.id), "Enhet B"),
        ("other", ""),
    ]
    assert [c.value for c in report.kinds.by_unit.counts.row_totals] == [11, 13]
    assert [row.code for row in _by(report.kinds, "age").rows] == ["10-15", "16-17"]


def test_a_handful_of_assessments_shows_nothing(savry: Instrument) -> None:
    report = measures(savry, PERIOD, [A], _set()[:4], missing=2)
    assert report.is_empty and report.assessed == 0 and report.missing == 2
    assert report.top_risk == [] and report.profiles == []


def test_profiles_are_left_out_where_they_would_pin_a_child(savry: Instrument) -> None:
    """Ten girls of one unit: five judged low with no High item, and five alone each in a
    profile band and level of their own. By band and level the row is 5, 1, 1, 1, 1, 1 with
    its public total of 10: no 1 can go down (it would be 0) and the 5 cannot give one up (a
    hidden count other than "<5" is at least 5), so no 1 can move and the pair is withheld
    whatever is hidden. By level alone it is 6, 2, 2: a 2 can trade with the other 2."""
    three = ("H1", "H2", "H3")
    girls = [_fact(A, "female", 14, "low")] * 5 + [
        _fact(A, "female", 14, "moderate"),
        _fact(A, "female", 14, "high"),
        _fact(A, "female", 14, "low", top_risk=three),
        _fact(A, "female", 14, "moderate", top_risk=three),
        _fact(A, "female", 14, "high", top_risk=three),
    ]
    fine = [[5, 1, 1, 1, 1, 1, 0, 0, 0]]
    assert suppress_linked(fine, fine).is_withheld and suppress_linked(fine).is_withheld
    report = measures(savry, PERIOD, [A], girls, missing=0)
    assert report.profiles == []
    assert report.judgement is not None and report.judgement.by_unit.columns == (
        "low", "moderate", "high",
    )  # fmt: skip
    shown = _values(report.judgement.by_unit)
    assert shown[0][-1] == 10 and not report.judgement.by_unit.is_withheld
    # The 2s are hidden as small; the 6 can stay: 10 - 6 leaves 4 for the two, which may be
    # 1 and 3, 2 and 2, or 3 and 1.
    cells = report.judgement.by_unit.counts.cells[0]
    assert [c.value for c in cells] == [6, None, None]
    assert [c.is_small for c in cells] == [False, True, True]


def test_a_breakdown_by_age_that_would_hide_more_is_left_out_and_said_so(
    savry: Instrument,
) -> None:
    """Forty children of one unit: girls 13-15 and 16-17 with 2 and 3 judgements that needed
    a reason, boys with none. By sex and age band the 2 and the 3 are small and hidden (and
    with them the 8 and 7 beside them, which the public row sizes would give away); by sex
    alone the girls' 5 and 15 can be shown. So the consistency measure is broken down by sex
    only, and says why; the kinds, the same for all, keep their age bands."""
    children = [
        *[_fact(A, "female", 14, "low", needed_reason=n < 2) for n in range(10)],
        *[_fact(A, "female", 16, "low", needed_reason=n < 3) for n in range(10)],
        *[_fact(A, "male", 14, "low")] * 10,
        *[_fact(A, "male", 16, "low")] * 10,
    ]
    report = measures(savry, PERIOD, [A], children, missing=0)
    consistency = report.consistency
    assert consistency is not None and consistency.by_age is None
    assert consistency.is_age_withheld
    assert _values(_by(consistency, "sex")) == [[5, 15, 20], [0, 20, 20], [5, 35, 40]]
    assert report.kinds is not None and not report.kinds.is_age_withheld
    assert [row.code for row in _by(report.kinds, "age").rows] == ["13-15", "16-17"]
