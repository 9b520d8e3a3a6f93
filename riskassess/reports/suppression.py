"""Small-cell suppression for tables of counts shown with their totals.

A count from 1 to 4 could point at a single child: it is shown as "<5" (primary suppression).
It must not be recoverable from what is shown either, so other counts are hidden too
(complementary suppression). A complement is shown with a mark of its own, not as "<5": a
hidden 40 called "<5" would be false. A reader therefore knows that a small count lies from 1
to 4 and that a complement is at least 5. Zeros are shown: "nobody" identifies nobody, and
hiding a zero protects nothing.

The check is exact. Write the table with its totals negated, as a grid whose every row and
column adds up to zero: the cells, each row's total (negated) at the end of its row, each
column's total (negated) under its column, and the grand total in the corner. Any other
table that agrees with everything shown differs from the true one by a sum of cycles of
hidden positions, alternately +1 and -1 along a row and a column (the grid is a network).
So a small count can be worked out exactly if and only if no such cycle through it can move it
up or down by one while every hidden count it passes stays within what a reader knows of it.
That is a path search in a small graph. For a pinned small count, the cheapest such cycle
through counts shown (cheapest: the least information hidden) is found by Dijkstra's
algorithm, and its counts are hidden too. Pure: no database, no Flask.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 5
UNBOUNDED = 10**12

# A position in the extended grid: row 0..height-1 are the table's rows, row `height` the
# column totals; column 0..width-1 the table's columns, column `width` the row totals.
Position = tuple[int, int]


@dataclass(frozen=True)
class Cell:
    """A count as it may be shown: `value` is None when it is hidden; `is_small` tells a
    hidden small count ("<5") from one hidden to protect it."""

    value: int | None
    is_small: bool = False

    @property
    def is_hidden(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class SuppressedTable:
    """A table of counts with its row totals, column totals and grand total."""

    cells: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Cell, ...]
    column_totals: tuple[Cell, ...]
    total: Cell
    # Nothing can be shown without giving a small count away (a table of a handful of
    # children): every count is hidden, zeros too, and the page says the group is too small.
    is_withheld: bool = False


class _Grid:
    """The table with its totals, as the zero-sum grid described above."""

    def __init__(self, counts: Sequence[Sequence[int]], threshold: int) -> None:
        self.height, self.width = len(counts), len(counts[0])
        self.threshold = threshold
        self.count: dict[Position, int] = {}
        for i, row in enumerate(counts):
            for j, value in enumerate(row):
                self.count[i, j] = value
            self.count[i, self.width] = sum(row)
        for j in range(self.width):
            self.count[self.height, j] = sum(row[j] for row in counts)
        self.count[self.height, self.width] = sum(sum(row) for row in counts)
        self.small = {p for p, v in self.count.items() if 0 < v < threshold}
        self.hidden = set(self.small)

    def sign(self, p: Position) -> int:
        """Totals stand negated in the grid, except the grand total (negated twice)."""
        is_total_row, is_total_column = p[0] == self.height, p[1] == self.width
        return -1 if is_total_row != is_total_column else 1

    def range_if_hidden(self, p: Position) -> tuple[int, int]:
        """What a reader would know of the count at `p` once hidden."""
        return (1, self.threshold - 1) if p in self.small else (self.threshold, UNBOUNDED)

    def cycle(self, p: Position, step: int, *, only_hidden: bool) -> list[Position] | None:
        """The cheapest cycle through `p` that moves its count by `step` (+1 or -1) and keeps
        every count it passes within what a reader would know of it: a list of positions, or
        None. With `only_hidden`, only hidden positions may be used; otherwise any position
        with a count above zero, at the cost of its count (hiding small counts loses least).

        Moving p's grid value by +d needs a path from p's column back to p's row: a position
        (r, c) taken from row to column changes its grid value by +d, from column to row by
        -d (the grid's value is the count times `sign`)."""
        low, high = self.range_if_hidden(p)
        if not low <= self.count[p] + step <= high:
            return None
        d = step * self.sign(p)
        start, goal = ("c", p[1]), ("r", p[0])
        best: dict[tuple[str, int], int] = {start: 0}
        came: dict[tuple[str, int], tuple[tuple[str, int], Position]] = {}
        queue: list[tuple[int, tuple[str, int]]] = [(0, start)]
        while queue:
            cost, node = heapq.heappop(queue)
            if node == goal:
                path = []
                while node != start:
                    node, q = came[node]
                    path.append(q)
                return path
            if cost > best.get(node, UNBOUNDED):
                continue
            for q, value in self.count.items():
                if q == p or (q not in self.hidden and (only_hidden or value == 0)):
                    continue
                if node == ("r", q[0]):
                    nxt, change = ("c", q[1]), d
                elif node == ("c", q[1]):
                    nxt, change = ("r", q[0]), -d
                else:
                    continue
                lo, hi = self.range_if_hidden(q)
                if not lo <= value + change * self.sign(q) <= hi:
                    continue
                total = cost + (0 if q in self.hidden else value)
                if total < best.get(nxt, UNBOUNDED):
                    best[nxt] = total
                    came[nxt] = (node, q)
                    heapq.heappush(queue, (total, nxt))
        return None

    def is_pinned(self, p: Position) -> bool:
        """Whether a reader could work out the hidden count at `p` exactly: no cycle of
        hidden counts can move it up or down."""
        return all(self.cycle(p, step, only_hidden=True) is None for step in (1, -1))

    def protect(self, p: Position) -> None:
        """Hide the cheapest set of counts that gives `p` a cycle, or, if none exists, every
        count above zero."""
        options = [c for step in (1, -1) if (c := self.cycle(p, step, only_hidden=False))]
        if not options:
            self.hidden |= {q for q, v in self.count.items() if v > 0}
            return
        cheapest = min(options, key=lambda c: sum(self.count[q] for q in c if q not in self.hidden))
        self.hidden.update(cheapest)

    def cell(self, p: Position) -> Cell:
        if p not in self.hidden:
            return Cell(self.count[p])
        return Cell(None, is_small=p in self.small)


def suppress(counts: Sequence[Sequence[int]], threshold: int = THRESHOLD) -> SuppressedTable:
    """Hide the small counts of a table, and as many others as needed so that none of them
    can be worked out from the totals and the counts shown."""
    if not counts or not counts[0]:
        raise ValueError("a table of counts needs at least one row and one column")
    if any(len(row) != len(counts[0]) for row in counts) or any(c < 0 for r in counts for c in r):
        raise ValueError("a table of counts needs rows of equal length and no negative count")
    grid = _Grid(counts, threshold)
    # Hiding more only ever widens what a reader cannot know, so one pass protects all.
    for p in sorted(grid.small):
        if grid.is_pinned(p):
            grid.protect(p)
    h, w = grid.height, grid.width
    if any(grid.is_pinned(p) for p in grid.small):
        hidden = Cell(None)
        return SuppressedTable(
            tuple(tuple(hidden for _j in range(w)) for _i in range(h)),
            tuple(hidden for _i in range(h)),
            tuple(hidden for _j in range(w)),
            hidden,
            is_withheld=True,
        )
    return SuppressedTable(
        tuple(tuple(grid.cell((i, j)) for j in range(w)) for i in range(h)),
        tuple(grid.cell((i, w)) for i in range(h)),
        tuple(grid.cell((h, j)) for j in range(w)),
        grid.cell((h, w)),
    )
