"""Small cells of a report are hidden, and cannot be worked out from what is shown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskassess.reports.suppression import Cell, SuppressedTable, suppress


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
