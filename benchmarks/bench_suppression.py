"""Cost of small-cell suppression of the follow-up report's linked tables.

    .venv/bin/python benchmarks/bench_suppression.py

Not part of the test suite: figures go to benchmarks/README.md, tests never assert times.
Counts are drawn, with a fixed seed, as a municipality's year might fall: units of uneven
size, groups (sex x age band) pooled to 0 or at least 5, categories of uneven frequency so
that some counts are small.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from riskassess.reports.suppression import THRESHOLD, LinkedTables, suppress_linked

Counts = list[list[int]]


def draw_pair(
    rng: random.Random, units: int, groups: int, columns: int, size: int
) -> tuple[Counts, Counts]:
    """`size` assessments, each in a unit, a group and a column; units and groups with fewer
    than THRESHOLD assessments are pooled into the next one, as the report pools them."""
    unit_weights = [rng.uniform(0.2, 3) for _ in range(units)]
    group_weights = [rng.uniform(0.5, 2) for _ in range(groups)]
    column_weights = [2.0 ** -(j % 6) for j in range(columns)]  # rare categories too
    left = [[0] * columns for _ in range(units)]
    right = [[0] * columns for _ in range(groups)]
    for _ in range(size):
        (u,) = rng.choices(range(units), unit_weights)
        (g,) = rng.choices(range(groups), group_weights)
        (c,) = rng.choices(range(columns), column_weights)
        left[u][c] += 1
        right[g][c] += 1
    return pool(left), pool(right)


def pool(table: Counts) -> Counts:
    pooled: Counts = []
    for row in table:
        if pooled and 0 < sum(pooled[-1]) < THRESHOLD:
            pooled[-1] = [a + b for a, b in zip(pooled[-1], row, strict=True)]
        else:
            pooled.append(list(row))
    if len(pooled) > 1 and 0 < sum(pooled[-1]) < THRESHOLD:
        last = pooled.pop()
        pooled[-1] = [a + b for a, b in zip(pooled[-1], last, strict=True)]
    return pooled


def median_ms(work: Callable[[], object], repeat: int = 7) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def describe(pairs: list[LinkedTables]) -> str:
    cells = [c for p in pairs for t in (p.left, p.right) if t for row in t.cells for c in row] + [
        c for p in pairs for c in p.left.column_totals
    ]
    small = sum(c.is_small for c in cells)
    complements = sum(c.is_hidden and not c.is_small for c in cells)
    withheld = sum(p.is_withheld for p in pairs)
    return f"{len(cells)} counts, {small} small, {complements} complements, {withheld} withheld"


def bench(label: str, inputs: list[tuple[Counts, Counts | None]]) -> None:
    """The median time for the whole batch, and for its slowest single call."""
    pairs = [suppress_linked(left, right) for left, right in inputs]
    batch = median_ms(lambda: [suppress_linked(left, right) for left, right in inputs])
    slowest = max(median_ms(lambda pair=pair: suppress_linked(*pair)) for pair in inputs)
    print(f"{label:<58}: {batch:7.1f} ms, slowest {slowest:5.1f} ms  ({describe(pairs)})")


def main() -> None:
    rng = random.Random(16)  # noqa: S311 -- reproducible sample counts, not a secret
    for size in (300, 1200):
        big = [draw_pair(rng, 15, 8, 12, size) for _ in range(10)]
        bench(f"10 reports, units 15x12 + groups 8x12, {size} assessments", big)
        items = [draw_pair(rng, 15, 8, 2, size) for _ in range(30)]
        bench(f"30 items, units 15x2 + groups 8x2, {size} assessments", items)
        bench(f"30 items, units 15x2 alone, {size} assessments", [(a, None) for a, _ in items])


if __name__ == "__main__":
    main()
