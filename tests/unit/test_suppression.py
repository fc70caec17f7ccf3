"""Small-cell suppression against an attacker: for every hidden cell the attacker looks for a second
table, consistent with everything published (shown cells, every sum, no negative count), in which
that cell differs. Finding one means the cell cannot be recovered; the suppression passes only if
the attacker finds one for every hidden cell of every table, hand-made and random."""

from __future__ import annotations

import random
from collections.abc import Hashable

import pytest

from api.reports.suppression import Sum, recoverable, suppress


def table(grid: list[list[int]]) -> tuple[dict[Hashable, int], list[Sum]]:
    """A grid with its row totals, column totals and grand total, all published."""
    rows, cols = len(grid), len(grid[0])
    cells: dict[Hashable, int] = {}
    for i, row in enumerate(grid):
        for j, n in enumerate(row):
            cells[(i, j)] = n
        cells[(i, "T")] = sum(row)
    for j in range(cols):
        cells[("T", j)] = sum(grid[i][j] for i in range(rows))
    cells[("T", "T")] = sum(map(sum, grid))
    sums = [Sum((i, "T"), tuple((i, j) for j in range(cols))) for i in [*range(rows), "T"]]
    sums += [Sum(("T", j), tuple((i, j) for i in range(rows))) for j in [*range(cols), "T"]]
    return cells, sums


def alternative_exists(cells: dict[Hashable, int], sums: list[Sum], hidden: set, target: Hashable) -> bool:
    """Backtracking over changes of -1, 0, +1 to the hidden cells: every sum still holds, nothing
    negative, `target` changed."""
    order = sorted(hidden, key=repr)
    order.remove(target)
    order.insert(0, target)
    change: dict[Hashable, int] = {}

    def holds() -> bool:
        for s in sums:
            if all(c in change or c not in hidden for c in s.cells):
                if sum(change.get(p, 0) for p in s.parts) != change.get(s.whole, 0):
                    return False
        return True

    def search(at: int) -> bool:
        if at == len(order):
            return True
        cell = order[at]
        for d in (1, -1) if at == 0 else (0, 1, -1):
            if cells[cell] + d < 0:
                continue
            change[cell] = d
            if holds() and search(at + 1):
                return True
            del change[cell]
        return False

    return search(0)


def assert_protected(cells: dict[Hashable, int], sums: list[Sum], hidden: set, k: int = 5) -> None:
    assert {c for c, n in cells.items() if 0 < n < k} <= hidden
    for cell in hidden:
        assert alternative_exists(cells, sums, hidden, cell), f"{cell}={cells[cell]} recoverable"


HAND_MADE = [
    [[3, 10, 12], [8, 9, 15]],  # one small cell: its row and column give it away
    [[2, 0, 0], [7, 9, 11]],  # the small cell's row is otherwise zero: its total is the cell
    [[1, 1, 20], [20, 20, 20], [6, 7, 8]],  # two small cells in a row, their column totals
    [[4, 30], [30, 30]],  # 2x2: everything must go
    [[0, 0, 2], [0, 0, 3], [0, 9, 9]],  # small cells in one column, zeros around
    [[6, 2, 9, 14], [11, 12, 3, 10], [5, 13, 8, 4]],  # small cells on a diagonal
]


@pytest.mark.parametrize("grid", HAND_MADE)
def test_hand_made_tables_keep_their_small_cells(grid: list[list[int]]) -> None:
    cells, sums = table(grid)
    hidden = suppress(cells, sums)
    assert_protected(cells, sums, hidden)


def test_primary_suppression_alone_is_undone_by_the_totals() -> None:
    """The attacker can win: hiding only the small cell of a table with totals gives it away."""
    cells, sums = table(HAND_MADE[0])
    assert not alternative_exists(cells, sums, {(0, 0)}, (0, 0))
    assert recoverable({(0, 0)}, sums) == {(0, 0)}
    assert len(suppress(cells, sums)) >= 4  # a row partner, a column partner and their corner


def test_random_tables() -> None:
    rng = random.Random(20261202)
    values = [0, 0, 1, 2, 3, 4, 5, 6, 9, 14, 30]
    for _ in range(150):
        rows, cols = rng.randint(2, 3), rng.randint(2, 3)
        grid = [[rng.choice(values) for _ in range(cols)] for _ in range(rows)]
        cells, sums = table(grid)
        hidden = suppress(cells, sums)
        assert_protected(cells, sums, hidden)


def test_large_counts_and_zeros_are_shown_and_k_is_honoured() -> None:
    cells, sums = table([[0, 12], [20, 30]])
    assert suppress(cells, sums) == set()
    cells, sums = table([[7, 12], [20, 30]])
    assert suppress(cells, sums, k=5) == set()
    hidden = suppress(cells, sums, k=10)
    assert (0, 0) in hidden
    assert_protected(cells, sums, hidden, k=10)


def test_cells_without_sums_hide_only_small_counts() -> None:
    assert suppress({"a": 3, "b": 0, "c": 5, "d": 40}, []) == {"a"}


def test_cells_linked_by_no_sum_are_hidden_alike_whatever_the_rest() -> None:
    """Residents now (active = risk split, a totals row) are published with every period's counts;
    nothing sums one with the other, so the period's counts must not change what is hidden of the
    residents: otherwise two periods' files show a cell each other hid."""
    now = {("a", "active"): 3, ("b", "active"): 6, ("c", "active"): 5, ("T", "active"): 14}
    now_sums = [Sum(("T", "active"), (("a", "active"), ("b", "active"), ("c", "active")))]
    seen = set()
    for a, b, c in [(0, 0, 0), (2, 9, 7), (2, 6, 7), (40, 1, 3)]:
        period = {("a", "alerts"): a, ("b", "alerts"): b, ("c", "alerts"): c, ("T", "alerts"): a + b + c}
        sums = [*now_sums, Sum(("T", "alerts"), (("a", "alerts"), ("b", "alerts"), ("c", "alerts")))]
        hidden = suppress({**now, **period}, sums)
        assert_protected({**now, **period}, sums, hidden)
        seen.add(frozenset(c for c in hidden if c[1] == "active"))
    assert seen == {frozenset({("a", "active"), ("c", "active")})}
