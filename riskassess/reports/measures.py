"""Follow-up statistics' measures over the approved assessments of a period, by unit and by
the children's sex and age, without names: pure, from opened facts (facts.py) to protected
tables. Nothing but aggregates leaves this module; services.py reads the facts and audits.

Each family of measures is counted in one pass over the facts, at its finest columns; its
coarser forms are those counts with columns merged.

How small counts stay hidden (suppression.py does the arithmetic):
- Group sizes are public. A group (a unit, or a sex and age band) with 1 to 4 assessments
  would give its own small count away, so such groups are pooled first: small units into
  "other units", neighbouring age bands together. Every table's row totals are then counts
  of 0 or at least 5, shown as such.
- Each family of measures is ONE table pair, units and sex-and-age groups against the same
  columns, protected jointly (`suppress_linked`), since both show the same column totals.
  Coarser tables (by sex only, by age band only, a judgement without its profile band) are
  derived from that pair with `aggregate`, which shows a sum only when all its parts are
  shown: they reveal nothing the pair does not.
- Measures whose columns overlap are one family: the kind of assessment is derived from the
  reassessment measures (a first assessment is "not a reassessment"), and the judgement by
  unit from the judgement by profile band.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from itertools import chain, groupby

from riskassess.accounts.models import Unit
from riskassess.core.localtime import LOCAL_TIME
from riskassess.instruments.definition import Instrument
from riskassess.reports.facts import CHILD_VIEW, Fact
from riskassess.reports.suppression import (
    THRESHOLD,
    Cell,
    LinkedTables,
    SuppressedTable,
    aggregate,
    suppress_linked,
)

SEXES = ("female", "male")
OPEN = 10**6  # the upper end of a band that has none
# Age bands in whole years at the first approval: EARL's children fall in the first two,
# SAVRY's youth in the last three. Neighbouring bands are merged where one is too small.
AGE_BANDS = ((0, 9), (10, 12), (13, 15), (16, 17), (18, OPEN))
# Similar factor profiles: how many risk items were rated at the top of their scale.
PROFILE_BANDS = ((0, 2), (3, 5), (6, OPEN))
# Days from the start of an assessment to its approval.
APPROVAL_DAYS = ((0, 7), (8, 14), (15, 30), (31, 60), (61, OPEN))
# Days between the approval a reassessment followed and its own.
GAP_DAYS = ((0, 92), (93, 183), (184, 366), (367, OPEN))
REASSESSED = ("on_time", "late", "no_due_date")
NOT_REASSESSMENT = "not_reassessment"
KINDS = ("initial", "reassessment")
TOP_ITEMS = 10
OTHER = "other"  # the pooled group of small units


@dataclass(frozen=True)
class Period:
    """Whole days, both included, in the municipality's time zone."""

    first: date
    last: date

    def bounds(self) -> tuple[datetime, datetime]:
        start = datetime.combine(self.first, time(0), LOCAL_TIME)
        end = datetime.combine(self.last + timedelta(days=1), time(0), LOCAL_TIME)
        return start, end


@dataclass(frozen=True)
class Row:
    """A row of a table: a unit (its id), OTHER, a sex, an age band "13-15", or a sex and
    age band "female 13-15"; `label` is what the page shows for a unit."""

    code: str
    label: str = ""


@dataclass(frozen=True)
class Table:
    rows: tuple[Row, ...]
    columns: tuple[str, ...]  # the measure's column codes
    counts: SuppressedTable

    @property
    def is_withheld(self) -> bool:
        return self.counts.is_withheld


@dataclass(frozen=True)
class Measure:
    """One measure as tables: by unit, and, where the groups allow, by sex and by age band."""

    code: str
    by_unit: Table
    by_sex: Table | None
    by_age: Table | None
    # Broken down by sex only: by age band as well would have hidden what the table by sex
    # shows (the page says so, rather than leave the table out without a word).
    is_age_withheld: bool = False

    @property
    def tables(self) -> list[tuple[str, Table]]:
        found = [("unit", self.by_unit), ("sex", self.by_sex), ("age", self.by_age)]
        return [(name, table) for name, table in found if table is not None]


@dataclass(frozen=True)
class ItemMeasure:
    """How often one item was rated at the top of its scale (or present, for protective
    items): columns ("top", "not_top")."""

    item: str
    measure: Measure


@dataclass(frozen=True)
class Median:
    """A median in days, per row of the unit table; None where the group has no value."""

    rows: tuple[Row, ...]
    values: tuple[float | None, ...]
    overall: float | None


@dataclass(frozen=True)
class Report:
    instrument: Instrument
    period: Period
    units: list[Unit]  # the units asked for
    assessed: int  # assessments counted (public: the sum of the public group sizes)
    has_breakdown: bool  # by sex and age band (a measure may still show its units alone)
    missing: int  # approved in the scope but without a fact: `riskassess reports rebuild-facts`
    kinds: Measure | None
    judgement: Measure | None  # by profile band and judgement where the counts allow it
    profiles: list[tuple[str, Table]]  # per profile band: units against judgement levels
    consistency: Measure | None
    child_view: Measure | None
    approval_days: Measure | None
    approval_median: Median | None
    reassessed: Measure | None
    gap_days: Measure | None
    top_risk: list[ItemMeasure]
    protective: list[ItemMeasure]

    @property
    def is_empty(self) -> bool:
        return self.judgement is None


def _band(value: int, bands: Sequence[tuple[int, int]]) -> int:
    return next(i for i, (low, high) in enumerate(bands) if low <= value <= high)


class _BandOf(dict[int, int]):
    """`_band` for one set of bands, remembered per value: a report bands each of 100,000
    ages and day counts, which take only a few hundred values."""

    def __init__(self, bands: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        self.bands = bands

    def __missing__(self, value: int) -> int:
        band = self[value] = _band(value, self.bands)
        return band


AGE_BAND = _BandOf(AGE_BANDS)
PROFILE_BAND = _BandOf(PROFILE_BANDS)
APPROVAL_BAND = _BandOf(APPROVAL_DAYS)
GAP_BAND = _BandOf(GAP_DAYS)


def band_code(bands: Sequence[tuple[int, int]], first: int, last: int) -> str:
    """ "13-15", or "18-" for an open-ended band."""
    low, high = bands[first][0], bands[last][1]
    return f"{low}-" if high >= OPEN else f"{low}-{high}"


# ---------------------------------------------------------------------------- the groups


@dataclass(frozen=True)
class _Groups:
    """Which row each fact counts in, after pooling: public sizes of 0 or at least 5."""

    units: tuple[Row, ...]
    people: tuple[Row, ...]  # sex and age band; empty when too few to break down
    sex_groups: list[list[int]]  # rows of `people` per sex, in SEXES order
    age_groups: list[list[int]]  # rows of `people` per merged age band
    age_rows: tuple[Row, ...]
    # The row of each fact, in the order of the facts, worked out once for every measure.
    unit_rows: list[int]
    person_rows: list[int]  # empty when `people` is
    # Both at once, as one number per fact: unit row * len(people) + person row.
    cells: list[int]

    @cached_property
    def members(self) -> list[tuple[int, list[int]]]:
        """Each cell with its facts' positions, for counting what the facts list (items) or
        hold (days) cell by cell in C loops (`map`, `chain`, `Counter`)."""
        order = sorted(range(len(self.cells)), key=self.cells.__getitem__)
        return [(cell, list(found)) for cell, found in groupby(order, key=self.cells.__getitem__)]

    def pair(self, of_column: list[int], width: int) -> tuple[list[list[int]], list[list[int]]]:
        """The facts counted by (unit, column) and by (person group, column), in one pass:
        `of_column` is each fact's column, in the order of the facts."""
        per = max(1, len(self.people))
        left = [[0] * width for _ in self.units]
        right = [[0] * width for _ in self.people]
        # Counted as one number per fact: ints hash faster than (cell, column) pairs.
        keys = [cell * width + column for cell, column in zip(self.cells, of_column, strict=True)]
        for key, n in Counter(keys).items():
            cell, column = divmod(key, width)
            unit, person = divmod(cell, per)
            left[unit][column] += n
            if right:
                right[person][column] += n
        return left, right


def _pool_units(
    units: list[Unit], sizes: Counter[uuid.UUID]
) -> tuple[tuple[Row, ...], dict[uuid.UUID, int]]:
    """The unit rows, small units pooled, and each unit's row; `sizes` counts each unit's
    facts."""
    kept = [u for u in units if sizes[u.id] >= THRESHOLD]
    small = [u for u in units if 0 < sizes[u.id] < THRESHOLD]
    pooled = sum(sizes[u.id] for u in small)
    if 0 < pooled < THRESHOLD and kept:
        smallest = min(kept, key=lambda u: (sizes[u.id], u.name))
        kept.remove(smallest)
        small.append(smallest)
    rows = [Row(str(u.id), u.name) for u in kept]
    unit_of = {u.id: i for i, u in enumerate(kept)}
    if small:
        unit_of |= {u.id: len(rows) for u in small}
        rows.append(Row(OTHER))
    return tuple(rows), unit_of


def _merge_age_bands(by_sex_and_age: Counter[tuple[str, int]]) -> list[list[int]] | None:
    """Neighbouring age bands merged until every sex has 0 or at least 5 in each; None when
    even one band for all ages leaves a sex with 1 to 4."""
    count: Counter[tuple[str, int]] = Counter()
    for (sex, age), n in by_sex_and_age.items():
        count[sex, AGE_BAND[age]] += n
    # Bands nobody falls in are left out first, so that merging never widens a band's label
    # over ages nobody has (a SAVRY report reading "0-15").
    merged = [[i] for i in range(len(AGE_BANDS)) if any(count[sex, i] for sex in SEXES)]
    if not merged:
        return None

    def size(sex: str, group: list[int]) -> int:
        return sum(count[sex, i] for i in group)

    while True:
        small = next(
            (
                i
                for i, group in enumerate(merged)
                if any(0 < size(sex, group) < THRESHOLD for sex in SEXES)
            ),
            None,
        )
        if small is None:
            return [g for g in merged if any(size(sex, g) for sex in SEXES)]
        if len(merged) == 1:
            return None
        # Merge with the smaller neighbour (the only one at either end).
        neighbours = [j for j in (small - 1, small + 1) if 0 <= j < len(merged)]
        other = min(neighbours, key=lambda j: sum(size(sex, merged[j]) for sex in SEXES))
        low, high = sorted((small, other))
        merged[low : high + 1] = [merged[low] + merged[high]]


def _groups(units: list[Unit], facts_: list[Fact]) -> _Groups:
    """Each fact's rows. Worked out from a few columns of the facts with C loops (`map`,
    `Counter`) and small lookup tables: a report groups 100,000 facts into some dozen rows."""
    unit_ids = [f.unit_id for f in facts_]
    unit_rows, unit_of = _pool_units(units, Counter(unit_ids))
    of_unit = list(map(unit_of.__getitem__, unit_ids))
    sex_age = list(zip([f.sex for f in facts_], [f.age for f in facts_], strict=True))
    by_sex_and_age = Counter(sex_age)
    is_known = all(sex in SEXES for sex, _age in by_sex_and_age)
    bands = _merge_age_bands(by_sex_and_age) if is_known else None
    if not bands:
        return _Groups(unit_rows, (), [], [], (), of_unit, [], of_unit)
    band_of = {i: b for b, group in enumerate(bands) for i in group}
    codes = [band_code(AGE_BANDS, group[0], group[-1]) for group in bands]
    people = tuple(Row(f"{sex} {code}") for sex in SEXES for code in codes)
    per_sex = len(bands)
    first_row = {sex: s * per_sex for s, sex in enumerate(SEXES)}
    row_of = {(sex, age): first_row[sex] + band_of[AGE_BAND[age]] for sex, age in by_sex_and_age}
    person_rows = list(map(row_of.__getitem__, sex_age))
    width = len(people)
    return _Groups(
        unit_rows,
        people,
        [[s * per_sex + b for b in range(per_sex)] for s in range(len(SEXES))],
        [[s * per_sex + b for s in range(len(SEXES))] for b in range(per_sex)],
        tuple(Row(code) for code in codes),
        of_unit,
        person_rows,
        [unit * width + person for unit, person in zip(of_unit, person_rows, strict=True)],
    )


# ---------------------------------------------------------------------------- the measures


# A measure with what it was derived from: the protected pair and its true counts.
Counted = tuple[Measure, LinkedTables, list[list[int]], list[list[int]]]


def _merged(table: list[list[int]], column_groups: list[list[int]]) -> list[list[int]]:
    """A table with its columns summed into groups."""
    return [[sum(row[j] for j in group) for group in column_groups] for row in table]


def _measure(code: str, groups: _Groups, columns: Sequence[str], of_column: list[int]) -> Counted:
    """Count the facts into the pair (units, people) x columns and protect it jointly."""
    left, right = groups.pair(of_column, len(columns))
    return _protected(code, groups, columns, left, right)


def _protected(
    code: str,
    groups: _Groups,
    columns: Sequence[str],
    left: list[list[int]],
    right: list[list[int]],
) -> Counted:
    """The counted pair (units, people) x columns, protected jointly, as a measure. The
    people are counted by sex and age band where that hides nothing the pair by sex alone
    would show, else by sex alone (the age band is left out)."""
    linked = suppress_linked(left, right if groups.people else None)
    if groups.people and len(groups.age_rows) > 1:
        by_sex = [
            [sum(right[i][j] for i in g) for j in range(len(columns))] for g in groups.sex_groups
        ]
        coarse = suppress_linked(left, by_sex)
        if not coarse.is_withheld and (
            linked.is_withheld
            or linked.right is None
            or not _shows_all(linked.left, coarse.left)
            or not _shows_all(aggregate(linked.right, right, groups.sex_groups), coarse.right)  # type: ignore[arg-type]
        ):
            linked, right = coarse, by_sex
    if linked.is_withheld and groups.people:
        # The breakdown by sex and age pins a small count whatever is hidden: the units alone.
        linked = suppress_linked(left, None)
    measure = _tables(code, groups, tuple(columns), linked, left, right)
    return measure, linked, left, right


def _tables(
    code: str,
    groups: _Groups,
    columns: tuple[str, ...],
    linked: LinkedTables,
    left: list[list[int]],
    right: list[list[int]],
    column_groups: list[list[int]] | None = None,
    derived_columns: tuple[str, ...] | None = None,
) -> Measure:
    """The measure's tables, optionally with columns merged (`column_groups`)."""
    shown = derived_columns or columns

    def derive(
        table: SuppressedTable, counts: list[list[int]], rows: list[list[int]] | None
    ) -> SuppressedTable:
        return aggregate(table, counts, rows, column_groups)

    by_unit = Table(groups.units, shown, derive(linked.left, left, None))
    if linked.right is None or not groups.people:
        return Measure(code, by_unit, None, None)
    sexes = tuple(Row(sex) for sex in SEXES)
    if len(right) != len(groups.people):  # protected by sex alone
        by_sex = Table(sexes, shown, derive(linked.right, right, None))
        return Measure(code, by_unit, by_sex, None, is_age_withheld=True)
    by_sex = Table(sexes, shown, derive(linked.right, right, groups.sex_groups))
    by_age = None
    if len(groups.age_rows) > 1:
        by_age = Table(groups.age_rows, shown, derive(linked.right, right, groups.age_groups))
    return Measure(code, by_unit, by_sex, by_age)


def _derived(
    code: str,
    groups: _Groups,
    base: Counted,
    column_groups: list[list[int]],
    columns: Sequence[str],
) -> Measure:
    _measure_, linked, left, right = base
    return _tables(
        code,
        groups,
        _measure_.by_unit.columns,
        linked,
        left,
        right,
        column_groups,
        tuple(columns),
    )


def _some_columns(table: SuppressedTable, columns: list[int]) -> SuppressedTable:
    """Some of a suppressed table's columns as a table of their own (one profile band's
    judgements). Its row totals and total add up shown counts only, and are hidden ("x")
    where a part is hidden, so it reveals nothing the whole table does not."""

    def added(parts: Sequence[Cell]) -> Cell:
        if any(part.is_hidden for part in parts):
            return Cell(None)
        return Cell(sum(part.value or 0 for part in parts))

    cells = tuple(tuple(row[j] for j in columns) for row in table.cells)
    column_totals = tuple(table.column_totals[j] for j in columns)
    return SuppressedTable(
        cells,
        tuple(added(row) for row in cells),
        column_totals,
        added(column_totals),
        is_withheld=table.is_withheld,
    )


# A reassessment's column in the finest reassessment table: its status (REASSESSED order), then
# its gap band, or the last "band" when the approval it followed is not known.
STATUS = {True: 0, False: 1, None: 2}
GAPS = len(GAP_DAYS) + 1


def _reassessment_columns(facts_: list[Fact]) -> list[int]:
    """Each fact's column among NOT_REASSESSMENT and (status, gap band) pairs."""
    unknown = len(GAP_DAYS)
    return [
        1
        + STATUS[f.on_time] * GAPS
        + (unknown if f.days_since_previous is None else GAP_BAND[f.days_since_previous])
        if f.kind == "reassessment"
        else 0
        for f in facts_
    ]


def _item_measures(
    groups: _Groups,
    items: list[tuple[str, ...]],
    codes: Iterable[str],
) -> list[ItemMeasure]:
    """Per item, how many were rated at the top (or present); the TOP_ITEMS most frequent.
    `items` holds each fact's items, in the order of the facts.

    One pass counts every item by unit and by group (a fact names an item at most once);
    each table's "not_top" column is its row's size less its "top" count. Ties keep the
    order in which the items first appear (fact by fact, in `codes` order)."""
    position = {code: k for k, code in enumerate(codes)}
    per = max(1, len(groups.people))
    counted: Counter[str] = Counter()
    left_top: Counter[tuple[int, str]] = Counter()
    right_top: Counter[tuple[int, str]] = Counter()
    for cell, members in groups.members:
        unit, person = divmod(cell, per)
        for code, n in Counter(chain.from_iterable(map(items.__getitem__, members))).items():
            if code in position:
                counted[code] += n
                left_top[unit, code] += n
                right_top[person, code] += n
    first: dict[str, tuple[int, int]] = {}
    for number, named in enumerate(items):
        for code in named:
            if code in position and code not in first:
                first[code] = (number, position[code])
        if len(first) == len(counted):
            break
    ranked = sorted(counted, key=lambda code: (-counted[code], first[code]))[:TOP_ITEMS]
    unit_sizes = Counter(groups.unit_rows)
    person_sizes = Counter(groups.person_rows)

    def table(
        sizes: Counter[int], top: Counter[tuple[int, str]], height: int, code: str
    ) -> list[list[int]]:
        return [[top[i, code], sizes[i] - top[i, code]] for i in range(height)]

    return [
        ItemMeasure(
            code,
            _protected(
                code,
                groups,
                ("top", "not_top"),
                table(unit_sizes, left_top, len(groups.units), code),
                table(person_sizes, right_top, len(groups.people), code),
            )[0],
        )
        for code in ranked
    ]


def _median(groups: _Groups, facts_: list[Fact]) -> Median:
    every = [f.days_to_approval for f in facts_]
    values: list[list[int]] = [[] for _ in groups.units]
    per = max(1, len(groups.people))
    for cell, members in groups.members:
        values[cell // per].extend(map(every.__getitem__, members))
    return Median(
        groups.units,
        tuple(statistics.median(v) if v else None for v in values),
        statistics.median(every) if every else None,
    )


def _table_cells(table: SuppressedTable) -> list[Cell]:
    return [
        *(cell for row in table.cells for cell in row),
        *table.row_totals,
        *table.column_totals,
        table.total,
    ]


def _shows_all(derived: SuppressedTable, reference: SuppressedTable) -> bool:
    """Whether `derived` shows every count `reference` shows (the same table's shape)."""
    pairs = zip(_table_cells(derived), _table_cells(reference), strict=True)
    return all(d.value is not None for d, r in pairs if r.value is not None)


def _by_sex_rows(groups: _Groups, right: list[list[int]]) -> list[list[int]] | None:
    """How the rows of a pair's second table sum into sexes: by sex and age band, or None
    where they are the sexes already."""
    return groups.sex_groups if len(right) == len(groups.people) else None


def _covers(
    groups: _Groups, option: Counted, reference: Counted, to_reference: list[list[int]]
) -> bool:
    """Whether the finer `option`, summed into the reference's columns, shows everything the
    reference (the same facts in coarser columns, protected on its own) shows, on both sides.
    Then the option alone carries all the reference would tell, so the page shows the
    option and what derives from it, never both: two protections of the same facts read
    together could give away what each hides."""
    _, linked, left, right = option
    _, ref, _ref_left, ref_right = reference
    if not _shows_all(aggregate(linked.left, left, None, to_reference), ref.left):
        return False
    if ref.right is None:
        return True
    # Compared by sex: either may have been protected by sex and age band, or by sex alone.
    return linked.right is not None and _shows_all(
        aggregate(linked.right, right, _by_sex_rows(groups, right), to_reference),
        aggregate(ref.right, ref_right, _by_sex_rows(groups, ref_right)),
    )


# One form of a family of measures: its columns, how they sum from the finest form's (None for
# the finest itself), and how they sum into the coarsest form's.
Form = tuple[Sequence[str], list[list[int]] | None, list[list[int]]]


def _finest_shown(
    code: str, groups: _Groups, of_column: list[int], forms: Sequence[Form]
) -> tuple[int, Counted]:
    """The finest of `forms` (finest first; `of_column` is each fact's column in the finest)
    that hides nothing of the coarsest that the coarsest protected on its own shows; the
    coarsest if none. Returns its index. Finer detail is thus shown only where it costs the
    main table nothing. The facts are counted once, in the finest form."""
    left, right = groups.pair(of_column, len(forms[0][0]))

    def counted(columns: Sequence[str], from_finest: list[list[int]] | None) -> Counted:
        if from_finest is None:
            return _protected(code, groups, columns, left, right)
        return _protected(
            code, groups, columns, _merged(left, from_finest), _merged(right, from_finest)
        )

    *finer, (columns, from_finest, _same) = forms
    reference = counted(columns, from_finest)
    for index, (option_columns, option_from, to_reference) in enumerate(finer):
        option = counted(option_columns, option_from)
        if _covers(groups, option, reference, to_reference):
            return index, option
    return len(finer), reference


def _judgements(
    groups: _Groups, facts_: list[Fact], levels: list[str]
) -> tuple[Measure, list[tuple[str, Table]]]:
    """The overall judgement, and per profile band where that hides nothing more."""
    bands = range(len(PROFILE_BANDS))
    width = len(levels)
    by_level = [[p * width + j for p in bands] for j in range(width)]
    level_of = {level: j for j, level in enumerate(levels)}
    of_column = [PROFILE_BAND[len(f.top_risk)] * width + level_of[f.level] for f in facts_]
    index, base = _finest_shown(
        "judgement",
        groups,
        of_column,
        [
            ([f"{p} {lvl}" for p in bands for lvl in levels], None, by_level),
            (levels, by_level, []),
        ],
    )
    if index == 1:
        return base[0], []
    profiles = [
        (
            band_code(PROFILE_BANDS, p, p),
            Table(
                groups.units,
                tuple(levels),
                _some_columns(base[1].left, [p * width + j for j in range(width)]),
            ),
        )
        for p in bands
    ]
    return _derived("judgement", groups, base, by_level, levels), profiles


def _reassessments(
    groups: _Groups, facts_: list[Fact]
) -> tuple[Measure, Measure | None, Measure | None]:
    """Assessments and reassessments; whether reassessments came by their due date; the
    days between them: one family, as finely as hides nothing more of the first."""
    gaps: list[int | str] = [*range(len(GAP_DAYS)), "?"]
    fine = [NOT_REASSESSMENT] + [f"{s} {g}" for s in REASSESSED for g in gaps]
    fine_to_kinds = [[0], list(range(1, len(fine)))]
    by_status = [[0]] + [[fine.index(f"{s} {g}") for g in gaps] for s in REASSESSED]
    index, base = _finest_shown(
        "reassessed",
        groups,
        _reassessment_columns(facts_),
        [
            (fine, None, fine_to_kinds),
            ([NOT_REASSESSMENT, *REASSESSED], by_status, [[0], [1, 2, 3]]),
            (KINDS, fine_to_kinds, []),
        ],
    )
    if index == 2:
        return base[0], None, None
    if index == 1:
        kinds = _derived("kinds", groups, base, [[0], [1, 2, 3]], KINDS)
        return kinds, base[0], None
    by_gap = [[0]] + [[fine.index(f"{s} {g}") for s in REASSESSED] for g in gaps]
    gap_columns = [band_code(GAP_DAYS, i, i) for i in range(len(GAP_DAYS))]
    return (
        _derived("kinds", groups, base, fine_to_kinds, KINDS),
        _derived("reassessed", groups, base, by_status, [NOT_REASSESSMENT, *REASSESSED]),
        _derived("gap_days", groups, base, by_gap, [NOT_REASSESSMENT, *gap_columns, "no_previous"]),
    )


def measures(
    instrument: Instrument,
    period: Period,
    units: list[Unit],
    facts_: list[Fact],
    missing: int,
) -> Report:
    """Every measure of the report from the opened facts. Pure: no database, no keys."""
    if len(facts_) < THRESHOLD:  # a handful of children: nothing can be shown
        return Report(
            instrument=instrument,
            period=period,
            units=units,
            assessed=0,
            missing=missing,
            has_breakdown=False,
            kinds=None,
            judgement=None,
            profiles=[],
            consistency=None,
            child_view=None,
            approval_days=None,
            approval_median=None,
            reassessed=None,
            gap_days=None,
            top_risk=[],
            protective=[],
        )
    groups = _groups(units, facts_)
    levels = [level.code for level in instrument.judgement_levels]
    judgement, profiles = _judgements(groups, facts_, levels)
    kinds, reassessed, gap_days = _reassessments(groups, facts_)
    approval_columns = [band_code(APPROVAL_DAYS, i, i) for i in range(len(APPROVAL_DAYS))]
    view_of = {view: j for j, view in enumerate(CHILD_VIEW)}
    return Report(
        instrument=instrument,
        period=period,
        units=units,
        assessed=len(facts_),
        missing=missing,
        has_breakdown=bool(groups.people),
        kinds=kinds,
        judgement=judgement,
        profiles=profiles,
        consistency=_measure(
            "consistency",
            groups,
            ("needed", "not_needed"),
            [0 if f.needed_reason else 1 for f in facts_],
        )[0],
        child_view=_measure(
            "child_view", groups, CHILD_VIEW, [view_of[f.child_view] for f in facts_]
        )[0],
        approval_days=_measure(
            "approval_days",
            groups,
            approval_columns,
            [APPROVAL_BAND[f.days_to_approval] for f in facts_],
        )[0],
        approval_median=_median(groups, facts_),
        reassessed=reassessed,
        gap_days=gap_days,
        top_risk=_item_measures(
            groups,
            [f.top_risk for f in facts_],
            [item.code for item in instrument.risk_items],
        ),
        protective=_item_measures(
            groups,
            [f.protective for f in facts_],
            [item.code for item in instrument.items if item.scale.kind == "protective"],
        ),
    )
