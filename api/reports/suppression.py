"""Small-cell suppression (秘匿) for statistics that leave the organisation.

The rule, the same for every table shared outside the office:

1. Primary: a count from 1 to k-1 is hidden (k is the organisation's `small_cell_k`, default 5).
   Zero is shown: "nobody" identifies nobody.
2. Complementary: a table is published with sums (a totals row; within a row, e.g. residents =
   high + medium + low risk). A hidden cell that is the only hidden one of a sum would be that sum
   minus the others, so a second cell of the sum is hidden too (the smallest non-zero one shown).
3. Then no hidden cell may follow from any combination of the sums (exact linear algebra over the
   hidden cells); while one does, another cell of one of its sums is hidden, and the check runs
   again. Hiding only ever grows, so this ends.

Hidden cells read "X" in a CSV (as 秘匿 in Japanese official statistics) and null in JSON. Shares,
medians and names are left out of suppressed tables: a share times its base is a count.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

HIDDEN = "X"
DEFAULT_K = 5


@dataclass(frozen=True)
class Sum:
    """`whole` = sum of `parts`, published together."""

    whole: Hashable
    parts: tuple[Hashable, ...]

    @property
    def cells(self) -> tuple[Hashable, ...]:
        return (self.whole, *self.parts)


def suppress(cells: Mapping[Hashable, int], sums: Sequence[Sum], k: int = DEFAULT_K) -> set[Hashable]:
    """The cells to hide. `cells` holds every published count, `sums` every exact relation between
    them that a reader knows."""
    hidden = {c for c, n in cells.items() if 0 < n < k}
    order = {c: i for i, c in enumerate(cells)}

    def cheapest(candidates: Sequence[Hashable]) -> Hashable | None:
        shown = [c for c in candidates if c not in hidden]
        if not shown:
            return None
        # a non-zero cell first: a hidden zero next to a hidden 1 leaves the reader 0 or 1
        return min(shown, key=lambda c: (cells[c] == 0, cells[c], order[c]))

    while True:
        grew = False
        for s in sums:
            if sum(c in hidden for c in s.cells) == 1:
                pick = cheapest(s.cells)
                if pick is not None:
                    hidden.add(pick)
                    grew = True
        if grew:
            continue
        exposed = recoverable(hidden, sums)
        if not exposed:
            return hidden
        target = min(exposed, key=order.__getitem__)
        pick = None
        for s in sums:
            if target in s.cells and (pick := cheapest(s.cells)) is not None:
                break
        if pick is None:  # every sum it is in is all hidden yet it is determined: widen
            pick = cheapest([c for s in sums if set(s.cells) & hidden for c in s.cells])
        if pick is None:
            return hidden  # nothing left to hide
        hidden.add(pick)


def recoverable(hidden: set[Hashable], sums: Sequence[Sum]) -> set[Hashable]:
    """Hidden cells whose value follows from the shown cells and the sums: those whose unit
    vector lies in the row space of the sums restricted to the hidden cells."""
    unknowns = sorted(hidden, key=repr)
    index = {c: i for i, c in enumerate(unknowns)}
    rows: list[list[Fraction]] = []
    for s in sums:
        row = [Fraction(0)] * len(unknowns)
        for c in s.parts:
            if c in index:
                row[index[c]] += 1
        if s.whole in index:
            row[index[s.whole]] -= 1
        if any(row):
            rows.append(row)
    basis = _echelon(rows)
    out = set()
    for c, i in index.items():
        probe = [Fraction(0)] * len(unknowns)
        probe[i] = Fraction(1)
        if not any(_reduce(probe, basis)):
            out.add(c)
    return out


def _echelon(rows: list[list[Fraction]]) -> list[tuple[int, list[Fraction]]]:
    """Reduced rows with their pivot column (each pivot 1, zero in the other rows)."""
    basis: list[tuple[int, list[Fraction]]] = []
    for row in rows:
        row = _reduce(row, basis)
        pivot = next((i for i, v in enumerate(row) if v), None)
        if pivot is None:
            continue
        row = [v / row[pivot] for v in row]
        basis = [(p, _eliminate(b, row, pivot)) for p, b in basis]
        basis.append((pivot, row))
    return basis


def _eliminate(row: list[Fraction], by: list[Fraction], pivot: int) -> list[Fraction]:
    factor = row[pivot]
    return [a - factor * b for a, b in zip(row, by, strict=True)] if factor else row


def _reduce(row: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    for pivot, b in basis:
        row = _eliminate(row, b, pivot)
    return row
