"""Small cells of a report are hidden, and cannot be worked out from what is shown."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from riskassess.reports.suppression import (
    Cell,
    LinkedTables,
    SuppressedTable,
    aggregate,
    suppress,
    suppress_linked,
)


def _shown(table: SuppressedTable) -> list[list[int | None]]:
    return [[c.value for c in row] for row in table.cells]


def test_nothing_small_hides_nothing() -> None:
    table = suppress([[5, 12], [0, 30]])
    assert _shown(table) == [[5, 12], [0, 30]]
    assert [c.value for c in table.row_totals] == [17, 30]
    assert [c.value for c in table.column_totals] == [5, 42]
    assert table.total.value == 47


def test_a_small_cell_takes_the_smallest_cell_of_its_row_and_column_with_it() -> None:
    """The worked example, by hand: 3 is small. Its row (3, 9, 20) would give it away as
    32 - 9 - 20, so 9 is hidden too; its column (3, 7) likewise, so 7; then 9's column
    (9, 15) and 7's row (7, 15, 30) have one hidden each: 15 (the smaller of 15 and 15,
    first by position) closes both."""
    table = suppress([[3, 9, 20], [7, 15, 30]])
    assert _shown(table) == [[None, None, 20], [None, None, 30]]
    assert table.cells[0][0].is_small and not table.cells[0][1].is_small
    assert [c.value for c in table.row_totals] == [32, 52]
    assert [c.value for c in table.column_totals] == [10, 24, 50]


def test_a_small_total_is_hidden_and_protected_like_a_cell() -> None:
    table = suppress([[2, 0], [0, 40]])
    assert table.row_totals[0].is_small and table.column_totals[0].is_small
    assert table.cells[0][0].is_small
    # The grand total of 42 minus the shown row total 40 would give the hidden 2.
    shown_totals = [c.value for c in table.row_totals]
    assert (None in shown_totals and shown_totals.count(None) >= 2) or table.total.is_hidden


def test_zeros_are_shown_and_never_hidden_as_a_complement() -> None:
    table = suppress([[0, 4, 0], [0, 6, 0]])
    assert [row[0].value for row in table.cells] == [0, 0]
    assert [row[2].value for row in table.cells] == [0, 0]


def test_a_table_of_a_handful_of_children_is_withheld_whole() -> None:
    """Four children in all: whatever is hidden, the small total and the lower bounds of
    the cells pin them (the cells add up to at least 4 and the total is at most 4)."""
    table = suppress([[0, 0, 1], [1, 1, 1]])
    assert table.is_withheld
    assert all(c.value is None for row in table.cells for c in row)  # zeros too


def test_rows_of_unequal_length_or_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        suppress([[1, 2], [3]])
    with pytest.raises(ValueError):
        suppress([[1, -2]])


def _feasible_values(table: SuppressedTable) -> dict[tuple[int, int], set[int]]:
    """What an attacker can conclude: every value each hidden cell can take, given all shown
    counts, that small hidden counts are 1-4, that other hidden counts are 5 or more (a
    complement is never small, else it would be small itself), and the sums of the table.
    A search over the hidden cells, row by row, cut short as soon as a row or a column can no
    longer meet what its total allows. Independent of the algorithm under test."""
    height, width = len(table.cells), len(table.cells[0])
    grid: list[list[int | None]] = [[c.value for c in row] for row in table.cells]
    hidden = [(i, j) for i in range(height) for j in range(width) if grid[i][j] is None]
    found: dict[tuple[int, int], set[int]] = {p: set() for p in hidden}
    cap = 9 * max(height, width)  # no line of these tables adds up to more

    def options(i: int, j: int) -> range:
        if table.cells[i][j].is_small:
            return range(1, 5)
        shown = [t for t in (table.row_totals[i].value, table.column_totals[j].value) if t]
        return range(5, min([*shown, cap]) + 1)

    def line_ok(values: list[int | None], total: Cell) -> bool:
        known = sum(v for v in values if v is not None)
        if any(v is None for v in values):
            return total.value is None or known <= total.value
        return _fits(total, known)

    def search(k: int) -> None:
        if k == len(hidden):
            if _fits(table.total, sum(v or 0 for row in grid for v in row)):
                for i, j in hidden:
                    found[i, j].add(grid[i][j])  # type: ignore[arg-type]
            return
        i, j = hidden[k]
        for value in options(i, j):
            grid[i][j] = value
            column = [grid[r][j] for r in range(height)]
            if line_ok(grid[i], table.row_totals[i]) and line_ok(column, table.column_totals[j]):
                search(k + 1)
        grid[i][j] = None

    search(0)
    return found


def _fits(total: Cell, value: int) -> bool:
    if total.value is not None:
        return total.value == value
    return 1 <= value <= 4 if total.is_small else value >= 5


@settings(max_examples=400, deadline=None)
@given(
    st.integers(min_value=2, max_value=3).flatmap(
        lambda width: st.lists(
            st.lists(st.integers(min_value=0, max_value=9), min_size=width, max_size=width),
            min_size=2,
            max_size=3,
        )
    )
)
def test_no_small_count_can_be_recovered_from_what_is_shown(counts: list[list[int]]) -> None:
    """An attempt to recover each small hidden count from the totals and the other cells:
    every one of them must still have at least two possible values."""
    table = suppress(counts)
    if table.is_withheld:  # a handful of children: nothing at all is shown
        assert all(c.is_hidden for row in table.cells for c in row) and table.total.is_hidden
        return
    feasible = _feasible_values(table)
    for (i, j), values in feasible.items():
        assert counts[i][j] in values  # the truth is among them: the attack is sound
        if table.cells[i][j].is_small:
            assert len(values) >= 2, (counts, (i, j), values)


# Linked tables: the same assessments by two breakdowns (units; sex and age band) and the same
# columns, published together. Row totals and the grand total are public.


def test_linked_tables_with_public_row_totals_hide_the_same_as_one_table() -> None:
    """The worked example of one table again, with its row totals public: the cheapest
    cycle for 3 was through the cells 7, 15 and 9 (31), not through the column totals
    10 and 24 and the cell 9 (43), and it never needed a row total."""
    pair = suppress_linked([[3, 9, 20], [7, 15, 30]])
    assert pair.right is None and not pair.is_withheld
    assert _shown(pair.left) == [[None, None, 20], [None, None, 30]]
    assert [c.value for c in pair.left.row_totals] == [32, 52]
    assert [c.value for c in pair.left.column_totals] == [10, 24, 50]
    assert pair.left.total.value == 84


def test_a_small_column_total_is_protected_with_its_cell() -> None:
    """[[3, 10], [0, 12]], row totals 13 and 12 public: the column total 3 is small too.
    3 cannot move with the other row (its cell is 0, never a complement), so the cycle runs
    through the column totals: 3 and its column total up, the column total 22 and the
    cell 10 down. A reader then knows a + b = 13, a in 1-4, b >= 5: four answers."""
    pair = suppress_linked([[3, 10], [0, 12]])
    assert _shown(pair.left) == [[None, None], [0, 12]]
    assert pair.left.cells[0][0].is_small and not pair.left.cells[0][1].is_small
    assert pair.left.column_totals == (Cell(None, is_small=True), Cell(None))
    assert pair.left.total.value == 25


def test_independent_suppression_leaks_through_the_shared_column_totals() -> None:
    """Units [[1, 20], [5, 30]] and sex [[6, 20], [0, 30]] count the same 56 assessments.
    Alone, the units table protects its 1 through the column totals (the cell 5 cannot go
    down to 4, so the cells' cycle is closed): it hides 6 and 50 and the cell 20. The sex
    table has nothing small and shows everything, column totals included: 6 - 5 = 1.

    Together, the 1 can only move with the column total 6 and, through it, the sex table:
    1+1 in the units table, 6+1 in the column total and in girls' first cell, whose row
    total is public, so girls' 20-1, the column total 50-1, and the units' 20-1."""
    units, by_sex = [[1, 20], [5, 30]], [[6, 20], [0, 30]]
    alone_units, alone_sex = suppress(units), suppress(by_sex)
    assert alone_units.cells[0][0].is_small and alone_units.column_totals[0].is_hidden
    assert alone_units.cells[1][0].value == 5 and alone_sex.column_totals[0].value == 6
    assert alone_sex.column_totals[0].value - alone_units.cells[1][0].value == units[0][0]
    # The same attack as below, on both tables as suppressed apart, read together:
    read_together = LinkedTables(
        replace(alone_units, column_totals=alone_sex.column_totals), alone_sex, False
    )
    assert _attack(read_together)[("left", 0, 0)] == {1}

    pair = suppress_linked(units, by_sex)
    assert pair.right is not None and not pair.is_withheld
    assert _shown(pair.left) == [[None, None], [5, 30]]
    assert _shown(pair.right) == [[None, None], [0, 30]]
    assert pair.left.column_totals is pair.right.column_totals
    assert all(c.is_hidden for c in pair.left.column_totals)
    assert pair.left.total is pair.right.total and pair.left.total.value == 56
    assert [c.value for c in pair.right.row_totals] == [26, 30]
    assert _attack(pair)[("left", 0, 0)] == {1, 2, 3, 4}


def test_a_count_pinned_by_its_public_row_total_withholds_the_tables() -> None:
    """One row of 6 = 1 + 5: whatever is hidden, the 5 cannot go down (it would be small)
    and the 1 cannot either, so the public 6 gives the 1 away. Only the public totals stay."""
    pair = suppress_linked([[1, 5]], [[1, 5], [0, 0]])
    assert pair.is_withheld and pair.left.is_withheld
    assert pair.right is not None and pair.right.is_withheld
    assert all(c.is_hidden and not c.is_small for c in pair.left.cells[0])
    assert all(c.is_hidden for row in pair.right.cells for c in row)  # zeros too
    assert all(c.is_hidden for c in pair.left.column_totals)
    assert [c.value for c in pair.right.row_totals] == [6, 0] and pair.right.total.value == 6


def test_linked_tables_of_other_assessments_or_with_small_groups_are_refused() -> None:
    with pytest.raises(ValueError, match="column sums"):
        suppress_linked([[5, 7]], [[6, 6]])
    with pytest.raises(ValueError, match="column sums"):
        suppress_linked([[5, 7]], [[5, 7, 0]])
    with pytest.raises(ValueError, match="row total"):
        suppress_linked([[5, 7], [3, 0]])
    with pytest.raises(ValueError, match="row total"):
        suppress_linked([[5, 7]], [[1, 0], [4, 7]])
    with pytest.raises(ValueError):
        suppress_linked([[5, -1]])


def _attack(pair: LinkedTables) -> dict[tuple[str, int, int], set[int]]:
    """What a reader of both tables can conclude: every value each hidden count can take in
    some pair of tables that agrees with everything shown. Keys: ("left", i, j),
    ("right", k, j), and ("total", 0, j) for the column totals. Shown counts are exact, "<5"
    is 1-4, a complement at least 5, row totals and the grand total are public, and both
    tables' columns add up to the same column totals. Independent of the algorithm under
    test: an exhaustive search, row by row, over the running column sums (the left rows add
    to them, the right rows take them back to zero; between the two they must fit the
    column totals), kept small by computing, forwards and backwards, the sums that can
    still lead to a whole pair."""
    sides = [(pair.left, "left", 1)] + ([(pair.right, "right", -1)] if pair.right else [])
    rows = [
        (name, i, sign, _row_choices(row, table.row_totals[i].value))
        for table, name, sign in sides
        for i, row in enumerate(table.cells)
    ]
    width, middle = len(pair.left.column_totals), len(pair.left.cells)
    Sums = tuple[int, ...]

    def fits_totals(sums: Sums) -> bool:
        return all(_fits(t, s) for t, s in zip(pair.left.column_totals, sums, strict=True))

    def step(sums: Sums, choice: Sums, sign: int) -> Sums:
        return tuple(s + sign * c for s, c in zip(sums, choice, strict=True))

    zero = (0,) * width
    forward = [{zero}]
    for k, (_, _, sign, choices) in enumerate(rows, start=1):
        reached = {step(s, c, sign) for s in forward[-1] for c in choices}
        forward.append({s for s in reached if fits_totals(s)} if k == middle else reached)
    backward = [{zero} if pair.right else forward[-1]]
    for k in range(len(rows) - 1, -1, -1):
        _, _, sign, choices = rows[k]
        reached = {step(s, c, -sign) for s in backward[0] for c in choices}
        backward.insert(0, {s for s in reached if fits_totals(s)} if k == middle else reached)
    found: dict[tuple[str, int, int], set[int]] = {}
    for k, (name, i, sign, choices) in enumerate(rows):
        for s, c in itertools.product(forward[k], choices):
            if step(s, c, sign) in backward[k + 1]:
                for j, value in enumerate(c):
                    found.setdefault((name, i, j), set()).add(value)
    for sums in forward[middle] & backward[middle]:
        for j, value in enumerate(sums):
            found.setdefault(("total", 0, j), set()).add(value)
    return found


def _row_choices(row: tuple[Cell, ...], total: int | None) -> list[tuple[int, ...]]:
    """Every row of counts that agrees with the shown cells and the public row total."""
    assert total is not None  # public
    options = [
        [c.value] if c.value is not None else range(1, 5) if c.is_small else range(5, total + 1)
        for c in row
    ]
    return [c for c in itertools.product(*options) if sum(c) == total]


@st.composite
def _linked_counts(draw: st.DrawFn) -> tuple[list[list[int]], list[list[int]]]:
    """Units by 2-3 categories, and the same assessments by two groups (the first group's
    counts drawn, the second's the rest of each column); every group 0 or at least 5, as
    the report pools them."""
    width = draw(st.integers(min_value=2, max_value=3))
    row = st.lists(st.integers(min_value=0, max_value=12), min_size=width, max_size=width)
    left = draw(st.lists(row, min_size=2, max_size=3))
    sums = [sum(column) for column in zip(*left, strict=True)]
    first = [min(s, c) for s, c in zip(sums, draw(row), strict=True)]
    right = [first, [s - f for s, f in zip(sums, first, strict=True)]]
    assume(all(sum(r) == 0 or sum(r) >= 5 for r in left + right))
    return left, right


def _with_everything_hidden(left: list[list[int]], right: list[list[int]] | None) -> LinkedTables:
    """The most a pair could hide: every count above zero, small ones marked "<5"."""

    def mark(value: int) -> Cell:
        return Cell(value) if value == 0 else Cell(None, is_small=value < 5)

    column_totals = tuple(mark(sum(c)) for c in zip(*left, strict=True))
    total = Cell(sum(map(sum, left)))

    def table(counts: list[list[int]]) -> SuppressedTable:
        cells = tuple(tuple(mark(v) for v in row) for row in counts)
        return SuppressedTable(cells, tuple(Cell(sum(r)) for r in counts), column_totals, total)

    return LinkedTables(table(left), None if right is None else table(right), False)


@pytest.mark.parametrize("is_linked", [True, False], ids=["two tables", "one table"])
@settings(max_examples=250, deadline=None, derandomize=True)
@given(counts=_linked_counts())
def test_no_small_count_can_be_recovered_from_both_tables_together(
    is_linked: bool, counts: tuple[list[list[int]], list[list[int]]]
) -> None:
    """An attempt to recover each small hidden count (cells of either table, column totals)
    from everything shown in both: each must still have at least two possible values. And
    tables are withheld only when even hiding every count above zero would not do."""
    left, right = counts[0], counts[1] if is_linked else None
    pair = suppress_linked(left, right)
    tables = [pair.left] if pair.right is None else [pair.left, pair.right]
    assert all(
        t.column_totals is pair.left.column_totals and t.total is pair.left.total for t in tables
    )
    assert [c.value for c in tables[-1].row_totals] == [sum(r) for r in counts[is_linked]]
    if pair.is_withheld:
        assert all(c.is_hidden for t in tables for r in t.cells for c in r)
        assert all(c.is_hidden for c in pair.left.column_totals)
        feasible = _attack(_with_everything_hidden(left, right))
        assert any(len(values) == 1 and 0 < min(values) < 5 for values in feasible.values())
        return
    truth = {("left", i, j): v for i, r in enumerate(left) for j, v in enumerate(r)}
    truth |= {("right", k, j): v for k, r in enumerate(right or []) for j, v in enumerate(r)}
    truth |= {("total", 0, j): sum(c) for j, c in enumerate(zip(*left, strict=True))}
    shown = {("left", i, j): c for i, r in enumerate(pair.left.cells) for j, c in enumerate(r)}
    if pair.right is not None:
        shown |= {
            ("right", k, j): c for k, r in enumerate(pair.right.cells) for j, c in enumerate(r)
        }
    shown |= {("total", 0, j): c for j, c in enumerate(pair.left.column_totals)}
    feasible = _attack(pair)
    for key, cell in shown.items():
        assert cell.value in (None, truth[key]) and cell.is_small == (0 < truth[key] < 5)
        assert truth[key] in feasible[key]  # the truth is among them: the attack is sound
        if cell.is_small:
            assert len(feasible[key]) >= 2, (left, right, key, feasible[key])


# Derived tables: coarser breakdowns added up from a suppressed one.


def test_a_derived_table_shows_only_sums_of_counts_shown() -> None:
    """The worked example above, [[<5, x, 20], [x, x, 30]] with column totals 10, 24, 50:
    the first two columns together are hidden in both rows (each has a hidden part), the
    third is shown; its column totals are 34 and 50. All rows together: each cell has a
    hidden part, so all are hidden, though the column totals give them; the grand total 84
    is the row total."""
    counts = [[3, 9, 20], [7, 15, 30]]
    fine = suppress_linked(counts).left
    by_two = aggregate(fine, counts, column_groups=[[0, 1], [2]])
    assert _shown(by_two) == [[None, 20], [None, 30]]
    assert not any(row[0].is_small for row in by_two.cells)  # 12 and 22: complements
    assert [c.value for c in by_two.row_totals] == [32, 52]
    assert [c.value for c in by_two.column_totals] == [34, 50]
    together = aggregate(fine, counts, row_groups=[[0, 1]])
    assert _shown(together) == [[None, None, 50]]
    assert [c.value for c in together.row_totals] == [84] and together.total.value == 84


def test_a_small_count_beside_zeros_stays_small_in_the_derived_table() -> None:
    """[[<5, x], [0, 12]] with column totals <5 and x: both rows together give the 3 alone
    (the other part is a shown 0), which the reader already knows is 1-4; the 10 beside it
    joins the 12, hidden as a complement. Both columns together: 13 is hidden, 12 shown,
    and the column total has hidden parts, so it is hidden, though it is the total 25."""
    counts = [[3, 10], [0, 12]]
    fine = suppress_linked(counts).left
    together = aggregate(fine, counts, row_groups=[[0, 1]])
    assert together.cells == ((Cell(None, is_small=True), Cell(None)),)
    assert together.row_totals == (Cell(25),)
    assert together.column_totals == (Cell(None, is_small=True), Cell(None))
    one_column = aggregate(fine, counts, column_groups=[[0, 1]])
    assert one_column.cells == ((Cell(None),), (Cell(12),))
    assert one_column.column_totals == (Cell(None),) and one_column.total == Cell(25)


def test_groups_that_miss_or_repeat_a_row_or_column_are_refused() -> None:
    counts = [[3, 10], [0, 12]]
    fine = suppress_linked(counts).left
    for groups in ([[0]], [[0, 1], [1]], [[0, 1], []], [[0, 2]]):
        with pytest.raises(ValueError, match="groups"):
            aggregate(fine, counts, row_groups=groups)
        with pytest.raises(ValueError, match="groups"):
            aggregate(fine, counts, column_groups=groups)
    with pytest.raises(ValueError, match="counts"):
        aggregate(fine, [[3, 10], [0, 13]])
    with pytest.raises(ValueError, match="counts"):
        aggregate(fine, [[3, 10]])


@st.composite
def _table_and_groups(draw: st.DrawFn) -> tuple[list[list[int]], list[list[int]], list[list[int]]]:
    """A table of 1-4 rows by 1-4 columns, and a random grouping of its rows and columns."""
    width, height = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    counts = [
        draw(st.lists(st.integers(0, 9), min_size=width, max_size=width)) for _ in range(height)
    ]

    def grouping(size: int) -> list[list[int]]:
        order = draw(st.permutations(range(size)))
        cuts = (
            sorted(draw(st.sets(st.integers(1, size - 1), max_size=size - 1))) if size > 1 else []
        )
        bounds = [0, *cuts, size]
        return [list(order[a:b]) for a, b in itertools.pairwise(bounds)]

    return counts, grouping(height), grouping(width)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_table_and_groups())
def test_a_derived_table_never_shows_what_its_table_hides(
    case: tuple[list[list[int]], list[list[int]], list[list[int]]],
) -> None:
    """Every count a derived table shows is the sum of counts shown in the table it comes
    from; every one it marks "<5" is a small count the table already marks, alone among
    shown zeros. Its totals likewise."""
    counts, rows, columns = case
    fine = suppress(counts)
    derived = aggregate(fine, counts, rows, columns)
    row_sums = [sum(r) for r in counts]
    column_sums = [sum(c) for c in zip(*counts, strict=True)]

    def check(cell: Cell, parts: list[tuple[Cell, int]]) -> None:
        if not cell.is_hidden:
            assert all(not part.is_hidden for part, _ in parts)
            assert cell.value == sum(value for _, value in parts)
        else:
            assert any(part.is_hidden for part, _ in parts)
        if cell.is_small:
            hidden = [part for part, _ in parts if part.is_hidden]
            assert len(hidden) == 1 and hidden[0].is_small
            assert all(value == 0 for part, value in parts if not part.is_hidden)

    for derived_row, group in zip(derived.cells, rows, strict=True):
        for cell, column_group in zip(derived_row, columns, strict=True):
            check(cell, [(fine.cells[i][j], counts[i][j]) for i in group for j in column_group])
    for cell, group in zip(derived.row_totals, rows, strict=True):
        check(cell, [(fine.row_totals[i], row_sums[i]) for i in group])
    for cell, group in zip(derived.column_totals, columns, strict=True):
        check(cell, [(fine.column_totals[j], column_sums[j]) for j in group])
    check(derived.total, [(fine.total, sum(row_sums))])
    assert derived.is_withheld == fine.is_withheld
