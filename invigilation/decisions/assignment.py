"""Who is who in one room frame: every face against the room's students (1:N, open set).

Pure Python, standard library only. Rows are the frame's faces, columns the candidate students,
entries face distances. Each face is read as one student or as nobody so that the frame's total
distance is least, with one face per student and one student per face: a min-cost assignment
(Kuhn-Munkres, by successive shortest paths with potentials, one Dijkstra per face over the
sparse graph of plausible pairs; rectangular either way).

Open set: leaving a face unidentified costs `threshold`, as if each face had a private "nobody"
column. So no pair at or past the threshold is ever made, and a stranger cannot displace a
student's own face. Assigning everyone first and dropping far pairs afterwards would: a
stranger at 0.70 from x and 0.90 from y, x's own face at 0.30 from x and 0.35 from y; forcing
both in gives stranger-x, face-y (1.05 < 1.20); dropping the stranger's far pair then leaves
x's face named y.

The margin belongs here, taken over the whole frame. `identity.roster_match` accepts a face
only when it is nearer its student than the runner-up by `ROSTER_MARGIN`; a face alone in a
frame is judged exactly so here. But a per-face runner-up test would throw away what the
frame settles: a face close to both x and y is not ambiguous when y is clearly the face two
seats along. So a face's margin is how much the frame's best total rises were the face anyone
else (another student, never nobody); only the joint solution can tell. A face whose best
reading wins by less than `margin` is withheld: ambiguous, which is not a stranger.

Speed (CPython 3.11, one core of a shared machine, best of 7): 60 faces x 300 students with
dlib-like distances (own student ~0.38, others ~0.80) 6.4 ms at the 0.05 margin, 1.5 ms at
0, 100 x 300 16 ms, 60 x 60 1.1 ms: faces sharing no student within reach are solved apart,
in small groups. Each solve is one Dijkstra per face over the pairs within reach (plus one
more per identified face for its margin, from the solution's duals), so the worst case is
O(faces x pairs x log): 60 x 300 uniform distances 46 ms, all 18,000 pairs alike 68 ms.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from invigilation.decisions import identity

Edges = list[list[tuple[int, float]]]  # per row: (column, cost), costs >= 0


@dataclass(frozen=True)
class Match:
    """One face's reading."""

    candidate: int | None  # the student (column) the frame's best reading names; None: nobody
    distance: float  # to the candidate; without one, to the nearest student (inf: no students)
    # How much the frame's best total distance rises were this face anyone else (inf: no one
    # else within threshold + margin); None when the face is nobody.
    margin: float | None
    ambiguous: bool = False  # the candidate won by less than the margin: withheld

    @property
    def column(self) -> int | None:
        """The student this face is identified as: None for a stranger or an ambiguous face."""
        return None if self.ambiguous else self.candidate


def assign(
    distances: Sequence[Sequence[float]],
    threshold: float,
    margin: float = identity.ROSTER_MARGIN,
) -> list[Match]:
    """Each face (row) read as at most one student (column), each student at most once, at the
    least total distance, a face left as nobody costing `threshold`; see the module docstring."""
    rows = _validated(distances, threshold, margin)
    reach = threshold + margin
    # Pairs past `reach` can neither be made nor be the runner-up reading of a face.
    near = [[(j, d) for j, d in enumerate(row) if d < reach] for row in rows]
    matches: list[Match | None] = [None] * len(rows)
    for faces in _groups(near):
        for i, match in _solve_group(faces, near, threshold, margin).items():
            if match.candidate is None:
                match = Match(None, min(rows[i], default=math.inf), None)
            matches[i] = match
    return matches  # type: ignore[return-value]


def assign_columns(
    distances: Sequence[Sequence[float]],
    threshold: float,
    margin: float = identity.ROSTER_MARGIN,
) -> list[int | None]:
    """The student (column) each face is identified as, or None."""
    return [match.column for match in assign(distances, threshold, margin)]


def _validated(distances, threshold: float, margin: float) -> list[list[float]]:
    if not (math.isfinite(threshold) and threshold >= 0 and math.isfinite(margin) and margin >= 0):
        raise ValueError("threshold and margin must be finite and >= 0")
    rows = [[float(d) for d in row] for row in distances]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("every face needs a distance to every student")
    if any(not d >= 0 for row in rows for d in row):  # also catches NaN
        raise ValueError("distances must be >= 0")
    return rows


def _groups(near: Edges) -> list[list[int]]:
    """The faces in groups that share no student within reach: each group is solved alone."""
    faces_of: dict[int, list[int]] = {}
    for i, row in enumerate(near):
        for j, _ in row:
            faces_of.setdefault(j, []).append(i)
    seen = [False] * len(near)
    groups = []
    for start in range(len(near)):
        if seen[start]:
            continue
        seen[start] = True
        group, stack = [start], [start]
        while stack:
            for j, _ in near[stack.pop()]:
                for other in faces_of.pop(j, ()):
                    if not seen[other]:
                        seen[other] = True
                        group.append(other)
                        stack.append(other)
        groups.append(sorted(group))
    return groups


def _solve_group(
    faces: list[int], near: Edges, threshold: float, margin: float
) -> dict[int, Match]:
    columns = sorted({j for i in faces for j, _ in near[i]})
    local = {j: k for k, j in enumerate(columns)}
    # The students, then each face's private "nobody" (pairs at or past the threshold: never).
    edges = [
        [*((local[j], d) for j, d in near[i] if d < threshold), (len(columns) + r, threshold)]
        for r, i in enumerate(faces)
    ]
    solution = _Solution(edges, len(columns) + len(faces))
    result = {}
    for r, i in enumerate(faces):
        k = solution.column_of[r]
        if k >= len(columns):
            result[i] = Match(None, math.inf, None)
            continue
        j = columns[k]
        distance = next(d for c, d in near[i] if c == j)
        # Were the face anyone else: its other pairs up to the reach, never nobody.
        others = [(local[c], d) for c, d in near[i] if c != j]
        regret = solution.regret(r, others) if others else math.inf
        # Winning by the margin exactly is enough, as in roster_match (1e-9: float sums).
        result[i] = Match(j, distance, regret, ambiguous=regret < margin - 1e-9)
    return result


class _Solution:
    """Every row matched to its own column at the least total cost (costs >= 0); `edges` must
    give each row a column of its own (its "nobody"), so there always is such a matching.

    Successive shortest paths: reduced costs `cost - u[row] - v[column]` stay >= 0, and 0 on
    matched pairs, so each row's augmenting path is found by Dijkstra. Free columns keep v = 0,
    matched ones v <= 0: the duals of the rectangular problem."""

    def __init__(self, edges: Edges, width: int) -> None:
        self.edges = edges
        self.u = [0.0] * len(edges)
        self.v = [0.0] * width
        self.row_of = [-1] * width
        self.column_of = [-1] * len(edges)
        for source in range(len(edges)):
            self._augment(source)

    def _augment(self, source: int) -> None:
        """Match `source` along a shortest alternating path to a free column."""
        edges, u, v, row_of = self.edges, self.u, self.v, self.row_of
        dist: dict[int, float] = {}
        pred: dict[int, int] = {}  # the row each column was reached from
        done: dict[int, float] = {}  # columns whose distance is final
        heap: list[tuple[float, int]] = []
        row, base = source, 0.0
        while True:
            for column, cost in edges[row]:
                d = base + cost - u[row] - v[column]
                if column not in done and d < dist.get(column, math.inf):
                    dist[column], pred[column] = d, row
                    heapq.heappush(heap, (d, column))
            d, column = heapq.heappop(heap)  # never empty: the source's "nobody" is free
            while column in done or d != dist[column]:
                d, column = heapq.heappop(heap)
            done[column] = d
            if row_of[column] == -1:
                break
            row, base = row_of[column], d
        # Shift the potentials by the path lengths: the path goes tight, no reduced cost < 0.
        u[source] += d
        for reached, length in done.items():
            v[reached] += length - d
            if row_of[reached] != -1:
                u[row_of[reached]] += d - length
        while True:
            row = pred[column]
            self.column_of[row], row_of[column], column = column, row, self.column_of[row]
            if row == source:
                return

    def regret(self, row: int, others: list[tuple[int, float]]) -> float:
        """How much the least total rises if `row` must take one of `others` (column, cost)
        instead of its column (Murty's step, from this solution's duals): with that pair
        undone, the shortest reduced path from the row back to its freed column. Unused
        columns are reached through a hub (the square problem's padding rows, cost 0 to every
        column: from the hub a column costs -v >= 0)."""
        target, u, v = self.column_of[row], self.u, self.v
        hub = -1
        dist: dict[int, float] = {}
        done: set[int] = set()
        heap: list[tuple[float, int]] = []

        def reach(column: int, d: float) -> None:
            if column not in done and d < dist.get(column, math.inf):
                dist[column] = d
                heapq.heappush(heap, (d, column))

        # Pairs at or past the threshold too: u[row] <= threshold (its "nobody" is free, v = 0),
        # so their reduced costs are >= 0 as well.
        for column, cost in others:
            reach(column, cost - u[row] - v[column])
        while heap:
            d, column = heapq.heappop(heap)
            if column in done or d != dist[column]:
                continue
            done.add(column)
            if column == target:
                return max(0.0, d)
            if column == hub:
                for k in range(len(v)):
                    reach(k, d - v[k])
            elif self.row_of[column] == -1:
                reach(hub, d)
            else:
                matched = self.row_of[column]
                for k, cost in self.edges[matched]:
                    reach(k, d + cost - u[matched] - v[k])
        return math.inf  # not reached: `others` holds a column, whose row can always move
