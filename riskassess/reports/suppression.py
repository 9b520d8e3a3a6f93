"""Small-cell suppression for tables of counts shown with their totals.

A count from 1 to 4 could point at a single child: it is shown as "<5" (primary suppression).
It must not be recoverable from what is shown either, so other counts are hidden too
(complementary suppression). A complement is shown with a mark of its own, not as "<5": a
hidden 40 called "<5" would be false. A reader therefore knows that a small count lies from 1
to 4 and that a complement is at least 5. Zeros are shown: "nobody" identifies nobody, and
hiding a zero protects nothing.

The check is exact. Every table here, with its totals, is a flow in a network (a
circulation): each count is the flow on one edge, and at every node what comes in equals what
goes out. One table (`suppress`): a source S feeds each row by its row total, each row feeds
each column by the cell, each column feeds a sink T by its column total, and T feeds S by the
grand total. Two tables of the same assessments by the same columns (`suppress_linked`): the
columns are split in two nodes, in and out, joined by the column total; the second table's
rows take from the columns' out-nodes and feed T by their row totals (one table alone is
drawn as for `suppress`).

Any other table (or pair) that agrees with everything shown differs from the true one by an
integer circulation on the hidden edges. Such a circulation is a sum of simple cycles, each
passing every edge in the direction the whole difference moves it; one unit around any of
them therefore moves each count it passes part of the way towards the other table, so within
what a reader knows of it (an interval: 1 to 4 for a small count, at least 5 for a
complement, exactly for a count shown or a public total). So a small count can be worked out
exactly if and only if no cycle of hidden edges through it can move it up or down by one
while every count it passes stays within what a reader knows of it. Nor can a reader do
better with linear programming: a network's constraint matrix is totally unimodular, so the
least and greatest value of each count over all real tables that agree with what is shown
are integers, taken by integer tables. That is why a path search in a small graph is exact.
For a pinned small count, the cheapest such cycle through shown counts (cheapest: the least
information hidden) is found by Dijkstra's algorithm, and its counts are hidden too. Edges a
reader knows anyway (public row totals and grand total) are fixed: never hidden, never on a
cycle. Pure: no database, no Flask.

What a reader knows also decides when nothing can be shown. With public row totals, a row
of 6 made of a 1 and a 5 gives the 1 away whatever is hidden (the 1 cannot go down, the 5
cannot go down to 4), as does a column total "<5" over four cells of 1. Then the tables are
withheld whole.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 5
UNBOUNDED = 10**12

Node = tuple[str, int]
Edge = int  # an index into the network's lists


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


@dataclass(frozen=True)
class LinkedTables:
    """Two breakdowns of the same assessments by the same columns, protected together: the
    column totals and the grand total are the same Cells in both."""

    left: SuppressedTable  # rows: first breakdown (units)
    right: SuppressedTable | None  # rows: second breakdown (e.g. sex x age-band groups)
    is_withheld: bool


class _Network:
    """Counts as the flows on the edges of a network, as described above."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.tail: list[Node] = []
        self.head: list[Node] = []
        self.count: list[int] = []
        self.is_fixed: list[bool] = []
        self.edges_at: dict[Node, list[Edge]] = {}
        self.small: set[Edge] = set()
        self.hidden: set[Edge] = set()

    def add(self, tail: Node, head: Node, count: int, *, is_fixed: bool = False) -> Edge:
        edge = len(self.count)
        self.tail.append(tail)
        self.head.append(head)
        self.count.append(count)
        self.is_fixed.append(is_fixed)
        self.edges_at.setdefault(tail, []).append(edge)
        self.edges_at.setdefault(head, []).append(edge)
        if not is_fixed and 0 < count < self.threshold:
            self.small.add(edge)
            self.hidden.add(edge)
        return edge

    def range_if_hidden(self, edge: Edge) -> tuple[int, int]:
        """What a reader would know of the count on `edge` once hidden."""
        return (1, self.threshold - 1) if edge in self.small else (self.threshold, UNBOUNDED)

    def cycle(self, edge: Edge, step: int, *, only_hidden: bool) -> list[Edge] | None:
        """The cheapest cycle through `edge` that moves its count by `step` (+1 or -1) and
        keeps every count it passes within what a reader would know of it: a list of edges,
        or None. With `only_hidden`, only hidden edges may be used; otherwise also shown ones
        with a count above zero (a complement is never zero), at the cost of their count
        (hiding small counts loses least).

        One more unit on `edge` has to flow back from its head to its tail (one less: from
        its tail to its head) through the rest of the cycle: an edge passed along its
        direction carries one unit more, an edge passed against it one unit less."""
        low, high = self.range_if_hidden(edge)
        if not low <= self.count[edge] + step <= high:
            return None
        start, goal = (
            (self.head[edge], self.tail[edge]) if step == 1 else (self.tail[edge], self.head[edge])
        )
        best: dict[Node, int] = {start: 0}
        came: dict[Node, tuple[Node, Edge]] = {}
        queue: list[tuple[int, Node]] = [(0, start)]
        while queue:
            cost, node = heapq.heappop(queue)
            if node == goal:
                path = []
                while node != start:
                    node, passed = came[node]
                    path.append(passed)
                return path
            if cost > best[node]:
                continue
            for other in self.edges_at[node]:
                is_hidden = other in self.hidden
                if other == edge or self.is_fixed[other]:
                    continue
                if not is_hidden and (only_hidden or self.count[other] == 0):
                    continue
                if node == self.tail[other]:
                    nxt, change = self.head[other], 1
                else:
                    nxt, change = self.tail[other], -1
                low, high = self.range_if_hidden(other)
                if not low <= self.count[other] + change <= high:
                    continue
                total = cost + (0 if is_hidden else self.count[other])
                if total < best.get(nxt, UNBOUNDED):
                    best[nxt] = total
                    came[nxt] = (node, other)
                    heapq.heappush(queue, (total, nxt))
        return None

    def is_pinned(self, edge: Edge) -> bool:
        """Whether a reader could work out the hidden count on `edge` exactly: no cycle of
        hidden edges can move it up or down."""
        return all(self.cycle(edge, step, only_hidden=True) is None for step in (1, -1))

    def protect(self) -> bool:
        """Hide, for each pinned small count, the cheapest set of counts that gives it a
        cycle. False if some small count cannot be protected at all."""
        # Hiding more only ever widens what a reader cannot know, so one pass protects all.
        for edge in sorted(self.small):
            if not self.is_pinned(edge):
                continue
            options = [c for step in (1, -1) if (c := self.cycle(edge, step, only_hidden=False))]
            if not options:
                return False
            cheapest = min(options, key=self._cost)
            self.hidden.update(cheapest)
        return True

    def _cost(self, edges: list[Edge]) -> int:
        return sum(self.count[e] for e in edges if e not in self.hidden)

    def cell(self, edge: Edge) -> Cell:
        if edge not in self.hidden:
            return Cell(self.count[edge])
        return Cell(None, is_small=edge in self.small)


def _check_counts(counts: Sequence[Sequence[int]], name: str) -> None:
    if not counts or not counts[0]:
        raise ValueError(f"{name}: a table of counts needs at least one row and one column")
    if any(len(row) != len(counts[0]) for row in counts) or any(c < 0 for r in counts for c in r):
        raise ValueError(
            f"{name}: a table of counts needs rows of equal length and no negative count"
        )


def _column_sums(counts: Sequence[Sequence[int]]) -> list[int]:
    return [sum(column) for column in zip(*counts, strict=True)]


def suppress(counts: Sequence[Sequence[int]], threshold: int = THRESHOLD) -> SuppressedTable:
    """Hide the small counts of a table, and as many others as needed so that none of them
    can be worked out from the totals and the counts shown. Every total may be hidden."""
    _check_counts(counts, "table")
    net = _Network(threshold)
    source, sink = ("source", 0), ("sink", 0)
    row_totals = [net.add(source, ("row", i), sum(row)) for i, row in enumerate(counts)]
    cells = [
        [net.add(("row", i), ("column", j), value) for j, value in enumerate(row)]
        for i, row in enumerate(counts)
    ]
    column_sums = _column_sums(counts)
    column_totals = [net.add(("column", j), sink, s) for j, s in enumerate(column_sums)]
    total = net.add(sink, source, sum(column_sums))
    if not net.protect():
        hidden = Cell(None)
        return SuppressedTable(
            tuple(tuple(hidden for _ in row) for row in cells),
            tuple(hidden for _ in row_totals),
            tuple(hidden for _ in column_totals),
            hidden,
            is_withheld=True,
        )
    return SuppressedTable(
        tuple(tuple(net.cell(e) for e in row) for row in cells),
        tuple(net.cell(e) for e in row_totals),
        tuple(net.cell(e) for e in column_totals),
        net.cell(total),
    )


def suppress_linked(
    left: Sequence[Sequence[int]],
    right: Sequence[Sequence[int]] | None = None,
    threshold: int = THRESHOLD,
) -> LinkedTables:
    """Hide the small counts of one or two tables of the same assessments by the same
    columns, and as many others as needed so that none of them can be worked out from
    everything shown in both together.

    The row totals and the grand total are public: always shown, never hidden. The caller
    pools small groups so that each row total is 0 or at least `threshold`. The column
    totals are one set of counts shared by both tables, and protected as such. If no hiding
    protects every small count, both tables are withheld (every count hidden, zeros too;
    the public totals still shown)."""
    _check_counts(left, "left table")
    column_sums = _column_sums(left)
    tables = [left]
    if right is not None:
        _check_counts(right, "right table")
        if len(right[0]) != len(left[0]) or _column_sums(right) != column_sums:
            raise ValueError("linked tables need the same columns with the same column sums")
        tables.append(right)
    if any(0 < sum(row) < threshold for table in tables for row in table):
        raise ValueError(f"a public row total must be 0 or at least {threshold}: pool small groups")

    net = _Network(threshold)
    source, sink = ("source", 0), ("sink", 0)
    left_cells = [
        [net.add(("left", i), ("column in", j), value) for j, value in enumerate(row)]
        for i, row in enumerate(left)
    ]
    if right is None:
        column_totals = [net.add(("column in", j), sink, s) for j, s in enumerate(column_sums)]
        right_cells: list[list[Edge]] = []
    else:
        column_totals = [
            net.add(("column in", j), ("column out", j), s) for j, s in enumerate(column_sums)
        ]
        right_cells = [
            [net.add(("column out", j), ("right", k), value) for j, value in enumerate(row)]
            for k, row in enumerate(right)
        ]
    # The public totals are fixed edges: they close the network but never carry a cycle, so
    # they need not be added at all; they are listed here for the picture's sake.
    for i, row in enumerate(left):
        net.add(source, ("left", i), sum(row), is_fixed=True)
    for k, row in enumerate(right or []):
        net.add(("right", k), sink, sum(row), is_fixed=True)
    net.add(sink, source, sum(column_sums), is_fixed=True)

    is_withheld = not net.protect()
    if is_withheld:
        net.hidden = set(range(len(net.count)))
        net.small = set()  # every count is hidden alike: no mark tells a small one
    shared_column_totals = tuple(net.cell(e) for e in column_totals)
    total = Cell(sum(column_sums))

    def table(counts: Sequence[Sequence[int]], cells: list[list[Edge]]) -> SuppressedTable:
        return SuppressedTable(
            tuple(tuple(net.cell(e) for e in row) for row in cells),
            tuple(Cell(sum(row)) for row in counts),
            shared_column_totals,
            total,
            is_withheld=is_withheld,
        )

    return LinkedTables(
        table(left, left_cells),
        None if right is None else table(right, right_cells),
        is_withheld,
    )


def aggregate(
    table: SuppressedTable,
    counts: Sequence[Sequence[int]],
    row_groups: Sequence[Sequence[int]] | None = None,
    column_groups: Sequence[Sequence[int]] | None = None,
) -> SuppressedTable:
    """A coarser table from an already suppressed one: each derived row adds up the rows of
    its group in `row_groups` (each row in exactly one group; None: rows as they are), each
    derived column likewise by `column_groups`; `counts` are the true counts of `table`.

    A derived count is shown only if all its parts are shown, as their sum; so is a derived
    total. Hidden, it is marked small only if its value is a small part's, alone hidden
    among parts shown as zero. Everything the derived table shows can thus be worked out
    from what `table` shows: published beside it or instead of it, it reveals nothing more."""
    height, width = len(table.cells), len(table.column_totals)
    if len(counts) != height or any(len(row) != width for row in counts):
        raise ValueError("the counts must have the shape of the suppressed table")
    for row, cells in zip(counts, table.cells, strict=True):
        if any(c.value is not None and c.value != v for v, c in zip(row, cells, strict=True)):
            raise ValueError("the counts must be those of the suppressed table")
    rows = _groups(row_groups, height, "row")
    columns = _groups(column_groups, width, "column")
    row_sums = [sum(row) for row in counts]
    column_sums = _column_sums(counts)

    def merged(parts: list[tuple[Cell, int]]) -> Cell:
        if all(not cell.is_hidden for cell, _ in parts):
            return Cell(sum(value for _, value in parts))
        hidden = [cell for cell, _ in parts if cell.is_hidden]
        is_alone = len(hidden) == 1 and all(
            value == 0 for cell, value in parts if not cell.is_hidden
        )
        return Cell(None, is_small=is_alone and hidden[0].is_small)

    return SuppressedTable(
        tuple(
            tuple(
                merged([(table.cells[i][j], counts[i][j]) for i in group for j in column_group])
                for column_group in columns
            )
            for group in rows
        ),
        tuple(merged([(table.row_totals[i], row_sums[i]) for i in group]) for group in rows),
        tuple(
            merged([(table.column_totals[j], column_sums[j]) for j in group]) for group in columns
        ),
        merged([(table.total, sum(row_sums))]),
        is_withheld=table.is_withheld,
    )


def _groups(groups: Sequence[Sequence[int]] | None, size: int, name: str) -> list[list[int]]:
    if groups is None:
        return [[index] for index in range(size)]
    if sorted(i for group in groups for i in group) != list(range(size)) or not all(groups):
        raise ValueError(f"the {name} groups must take each {name} exactly once")
    return [list(group) for group in groups]
