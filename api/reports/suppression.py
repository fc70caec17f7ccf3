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
4. Each group of cells linked by sums is suppressed on its own: whether a cell is hidden depends
   only on the cells it shares a sum with. So a count of residents now (active, by risk level) is
   hidden alike whatever the period asked, as nothing links it to the period's counts.
5. Bounds: some cells are known to be at most another of their row (residents reached ≤ active
   residents; residents reached by a method ≤ reached ≤ active; without a plan, without consent ≤
   active). A shown part next to its hidden bound is a floor on it (7 reached: at least 7 active),
   which the sums can turn into a value (8 in all: the other district at most 1). So a cell is
   hidden whenever a cell bounding it is, and rules 2–4 and this one run again until nothing
   changes (hiding only grows, so this ends). A part of 0 stays shown: a floor of 0 says nothing. Only downwards: a hidden part hides nothing above
   it, so residents now stay hidden alike whatever the period (rule 4).
6. Fixed periods: statistics leaving the office are published for whole calendar months of the
   organisation's calendar that have ended only (coverage.published_month; the suppressed trends
   are those months, trends.monthly), so no two published tables overlap or can be differenced
   into a smaller period (counts of events add up over periods). Weeks are never published
   suppressed: a week straddling two months would link them, and a running week asked on two
   days differs by one day's events.
7. Frozen: a month is suppressed once, when first published (publication.py, after its settling
   days), and every later file, chart or trend of it is that stored table: two editions of the
   same month (before and after a late sync, or a new k) would be differenced into hidden cells.

Jointly suppressed (one suppression, `coverage_hidden`, over the union of their cells): the
coverage CSV, the coverage chart (SVG) and the monthly trends (JSON and SVG). They publish the same
quantities under shared keys (district or `TOTAL`, quantity) — a district's active residents, the
residents reached, visits due, missed and done (done + done late, as the trends count it), alerts
raised — for the same month (a trend month is the coverage of that month), and the sums of all of
them are solved together: a cell hidden in one is hidden in every one, and nothing follows from
putting them side by side. The table is always every district of the organisation, whoever asks:
one suppression per organisation and period. A narrower file (a commissioner's districts, one
district) shows its rows of that table (`scope_rows`), so a commissioner's file and the
coordinator's agree cell for cell. A narrower file shows no totals row of its own: a sum over
some districts is a new sum, outside the suppression (side by side with the organisation's rows it
would give a hidden cell away: 東+西 = 9 shown, 西 = 6 shown, so 東 = 3); one district's total is
its row. Which cells are hidden in a commissioner's rows depends on other districts' counts, as
the suppression is of the whole table — the same table the coordinator publishes.

Hidden cells read "X" in a CSV (as 秘匿 in Japanese official statistics), null in JSON and 秘匿 in a
chart. Shares, medians and names are left out of suppressed tables: a share times its base is a
count.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

HIDDEN = "X"
DEFAULT_K = 5
TOTAL = "total"  # the row of a table's totals


@dataclass(frozen=True)
class Sum:
    """`whole` = sum of `parts`, published together."""

    whole: Hashable
    parts: tuple[Hashable, ...]

    @property
    def cells(self) -> tuple[Hashable, ...]:
        return (self.whole, *self.parts)


def suppress(
    cells: Mapping[Hashable, int],
    sums: Sequence[Sum],
    k: int = DEFAULT_K,
    bounds: Sequence[tuple[Hashable, Hashable]] = (),
) -> set[Hashable]:
    """The cells to hide. `cells` holds every published count, `sums` every exact relation between
    them that a reader knows, `bounds` every (part, bound): part ≤ bound. Each group of cells linked
    by sums is suppressed on its own (rule 4); a part is hidden with its bound (rule 5)."""
    hidden: set[Hashable] = set()
    groups = _linked(cells, sums)
    while True:
        before = len(hidden)
        for group, group_sums in groups:
            seen = {c: cells[c] for c in group}
            hidden |= _suppress_linked(seen, group_sums, k, hidden & seen.keys())
        # a shown 0 is a floor of 0: it says nothing (and X already reads as not 0)
        hidden |= {part for part, bound in bounds if bound in hidden and cells[part]}
        if len(hidden) == before:
            return hidden


def _linked(cells: Mapping[Hashable, int], sums: Sequence[Sum]) -> list[tuple[list[Hashable], list[Sum]]]:
    """The cells in groups linked by sums (in `cells`' order), each with its sums."""
    parent = {c: c for c in cells}

    def root(c: Hashable) -> Hashable:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for s in sums:
        first = root(s.whole)
        for c in s.parts:
            parent[root(c)] = first
    groups: dict[Hashable, list[Hashable]] = {}
    for c in cells:
        groups.setdefault(root(c), []).append(c)
    by_group: dict[Hashable, list[Sum]] = {}
    for s in sums:
        by_group.setdefault(root(s.whole), []).append(s)
    return [(members, by_group.get(r, [])) for r, members in groups.items()]


def _suppress_linked(
    cells: Mapping[Hashable, int], sums: Sequence[Sum], k: int, already: set[Hashable]
) -> set[Hashable]:
    hidden = {c for c, n in cells.items() if 0 < n < k} | already
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


# The counts of a district's coverage that statistics leaving the office may show, by key (the
# coverage CSV's column keys), and the sums a reader can check within a row. `visits.done_all` is
# the trends' "visits done" (done + done late): published by the trends, so part of the table.
RISKS = ("high", "medium", "low")
VISIT_OUTCOMES = ("due", "done", "done_late", "missed", "open")
SAFETY_RESULTS = ("campaigns", "residents", "confirmed_safe", "needs_help", "unreachable", "not_checked")
ROW_SUMS = (
    ("active", tuple(f"risk.{r}" for r in RISKS)),
    ("visits.due", tuple(f"visits.{c}" for c in VISIT_OUTCOMES[1:])),
    ("visits.done_all", ("visits.done", "visits.done_late")),
    ("safety.residents", tuple(f"safety.{c}" for c in SAFETY_RESULTS[2:])),
)
# (part, bound) within a row: the part is at most the bound (rule 5); `method.*` keys also sit
# under "contacted" and "active" (added in `coverage_hidden`, as the methods vary)
ROW_BOUNDS = (("contacted", "active"), ("without_plan", "active"), ("without_consent", "active"))


def coverage_counts(district: Any) -> dict[str, int]:
    """`district`: a `DistrictCoverage`; its published counts by key."""
    d = district
    return {
        "active": d.residents.active,
        "paused": d.residents.paused,
        **{f"risk.{r}": d.residents.by_risk.get(r, 0) for r in RISKS},
        "contacted": d.contacted.residents,
        **{f"method.{m}": s.residents for m, s in d.contacted.by_method.items()},
        **{f"visits.{c}": getattr(d.visits, c) for c in VISIT_OUTCOMES},
        "visits.done_all": d.visits.done + d.visits.done_late,
        "alerts.raised": d.alerts.raised,
        "alerts.acknowledged": d.alerts.acknowledged,
        "alerts.resolved": d.alerts.resolved,
        **{f"safety.{c}": getattr(d.safety_checks, c) for c in SAFETY_RESULTS},
        "without_plan": d.residents_without_plan,
        "without_consent": d.residents_without_visiting_consent,
    }


@dataclass(frozen=True)
class CoverageCells:
    """A coverage report as published outside the office: `cells[(district_id or TOTAL, key)]`
    and the cells to hide."""

    cells: dict[Hashable, int]
    hidden: set[Hashable]

    def shows(self, row: str, key: str) -> bool:
        return (row, key) not in self.hidden

    @property
    def has_total(self) -> bool:
        return any(row == TOTAL for row, _ in self.cells)


def _table_sums(rows: list[str], keys: list[str]) -> list[Sum]:
    """A coverage table's sums: each row's `ROW_SUMS`, and the districts (all rows but the last,
    `TOTAL`) to the total of each key."""
    sums = [Sum((row, whole), tuple((row, p) for p in parts)) for row in rows for whole, parts in ROW_SUMS]
    return sums + [Sum((TOTAL, key), tuple((row, key) for row in rows[:-1])) for key in keys]


def coverage_hidden(report: Any, k: int) -> CoverageCells:
    """The one suppression of the coverage CSV, the coverage chart and the trends: `report` (a
    `CoverageReport`) holds every district of the organisation, whoever asks (`scope_rows` keeps
    the caller's); totals over them, the row sums, and the totals' sums (districts to the total)."""
    counts = [(d.district_id, coverage_counts(d)) for d in report.districts]
    keys = list(counts[0][1]) if counts else []
    cells: dict[Hashable, int] = {}
    for row, values in counts:
        for key in keys:
            cells[(row, key)] = values[key]
    for key in keys:
        cells[(TOTAL, key)] = sum(values[key] for _, values in counts)
    rows = [row for row, _ in counts] + [TOTAL]
    sums = _table_sums(rows, keys)
    row_bounds = [*ROW_BOUNDS]
    row_bounds += [(m, b) for m in keys if m.startswith("method.") for b in ("contacted", "active")]
    bounds = [((row, part), (row, bound)) for row in rows for part, bound in row_bounds]
    return CoverageCells(cells, suppress(cells, sums, k, bounds))


def publishes_total(district_ids: Collection[str], whole: Collection[str]) -> bool:
    """Whether a file over `district_ids` (of the organisation's districts `whole`) may show a
    totals row: only where that total is a cell of the organisation's table — every district's
    (its totals row) or one district's (its row). A sum over some of the districts (a
    commissioner's) would be a new sum, outside the one suppression. No district: a sum of
    nothing (0), which says nothing."""
    return len(district_ids) <= 1 or set(district_ids) == set(whole)


def scope_rows(table: CoverageCells, district_ids: Collection[str]) -> CoverageCells:
    """The part of the organisation's table (`coverage_hidden`) a file over `district_ids` shows:
    their rows, hidden as the whole table hides them, and its totals row where `publishes_total`
    (one district's total is its row)."""
    whole = {row for row, _ in table.cells if row != TOTAL}
    wanted = set(district_ids)
    if wanted == whole:
        return table
    total_of = next(iter(wanted)) if publishes_total(wanted, whole) and wanted else None
    cells: dict[Hashable, int] = {}
    hidden: set[Hashable] = set()
    for (row, key), n in table.cells.items():
        if row in wanted:
            for r in (row, TOTAL) if row == total_of else (row,):
                cells[(r, key)] = n
                if (row, key) in table.hidden:
                    hidden.add((r, key))
    return CoverageCells(cells, hidden)
