"""Which seat of a room's seat plan a face sits on, from one camera's calibration.

Pure Python (standard library only), like the rules that use the seats (`room.py`).

A camera is calibrated by the image positions of the plan's four corner seats, in order:
A1 (front left), A<columns> (front right), <last row><columns> (back right), <last row>1 (back
left), each where that seat's occupant's face centre appears, in the pixels of a frame of a
given size. The seats' face centres lie on one plane (seated heads at one height), so a plane
homography maps seat-grid coordinates (column index, row index: A1 is (0, 0)) to the image,
and another maps the image back to the grid. A face's seat is the grid point nearest its box
centre mapped back; none when that is farther than half a seat spacing (an aisle, someone
standing). Nearness is judged on the grid, where seats are evenly spaced; in the image,
perspective packs the back rows closer and would favour them.

Text form, as a camera stores it: "1920x1080: x,y; x,y; x,y; x,y" (the frame size, then the
four corners in order).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # left, top, right, bottom, in the frame's pixels

REACH = 0.5  # farthest a face centre may be from a seat, in seat spacings, to sit on it
# Smallest sine of a corner's angle: below it the quad is too flat to tell seats apart.
MIN_SINE = 0.01
SIZE = re.compile(r"^\s*(\d+)\s*[x×]\s*(\d+)\s*:(.*)$", re.IGNORECASE | re.DOTALL)


class CalibrationError(ValueError):
    """A calibration that is malformed or cannot map seats (a flat or crossed quad)."""


@dataclass(frozen=True)
class Calibration:
    size: tuple[int, int]  # width, height of the frame the corners were read on
    corners: tuple[Point, ...]  # A1, A<columns>, <last row><columns>, <last row>1

    def corners_in(self, width: int, height: int) -> list[Point]:
        """The corners in a frame of another size (the camera's resolution changed)."""
        sx, sy = width / self.size[0], height / self.size[1]
        return [(x * sx, y * sy) for x, y in self.corners]


def parse_camera_calibration(text: str) -> Calibration:
    """A camera's stored calibration, "1920x1080: x,y; x,y; x,y; x,y"; CalibrationError."""
    match = SIZE.match(text)
    if match is None:
        raise CalibrationError(
            'Start with the frame size the points were read on, e.g. "1920x1080: x,y; ...".'
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width == 0 or height == 0:
        raise CalibrationError(f"A frame of {width}x{height} pixels is empty.")
    corners = parse_calibration(match.group(3))
    outside = [p for p in corners if not (0 <= p[0] <= width and 0 <= p[1] <= height)]
    if outside:
        x, y = outside[0]
        raise CalibrationError(f"Point {x:g},{y:g} is outside the {width}x{height} frame.")
    return Calibration((width, height), tuple(corners))


def parse_calibration(text: str) -> list[Point]:
    """Four points "x,y; x,y; x,y; x,y" forming a convex quad; CalibrationError otherwise."""
    parts = [part.strip() for part in text.strip().rstrip(";").split(";")]
    if len(parts) != 4:
        raise CalibrationError(
            f"Expected 4 points (A1, front right, back right, back left), got {len(parts)}."
        )
    points = [_point(part, n) for n, part in enumerate(parts, start=1)]
    _check_quad(points)
    return points


def _point(text: str, n: int) -> Point:
    coordinates = text.split(",")
    try:
        x, y = (float(c) for c in coordinates)
    except ValueError:
        raise CalibrationError(f'Point {n} ("{text}") is not two numbers "x,y".') from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise CalibrationError(f'Point {n} ("{text}") is not a pixel position.')
    return x, y


def _check_quad(points: Sequence[Point]) -> None:
    """Every corner turns the same way, and clearly: no two points at one place, no three on
    a line, the order not crossed (a crossed quad maps seats across the horizon)."""
    turns = []
    for i in range(4):
        (ax, ay), (bx, by), (cx, cy) = points[i - 1], points[i], points[(i + 1) % 4]
        ux, uy, vx, vy = bx - ax, by - ay, cx - bx, cy - by
        lengths = math.hypot(ux, uy) * math.hypot(vx, vy)
        if lengths == 0:
            raise CalibrationError("Two of the points are at the same place.")
        turns.append((ux * vy - uy * vx) / lengths)
    if min(abs(t) for t in turns) < MIN_SINE:
        raise CalibrationError("Three of the points are on one line: the quad is degenerate.")
    if len({t > 0 for t in turns}) > 1:
        raise CalibrationError(
            "The points do not go round the seat plan in order (A1, front right, back right, "
            "back left): the quad is crossed or folded."
        )


@dataclass(frozen=True)
class Homography:
    """A plane projective map: (x, y) -> ((h0 x + h1 y + h2) / w, (h3 x + h4 y + h5) / w)
    with w = h6 x + h7 y + 1."""

    h: tuple[float, ...]
    side: float  # the sign of w where it was fitted: points beyond its horizon map nowhere

    @classmethod
    def fit(cls, source: Sequence[Point], target: Sequence[Point]) -> Homography:
        """The map taking four source points to four target points."""
        rows, values = [], []
        for (x, y), (u, v) in zip(source, target, strict=True):
            rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
            values += [u, v]
        h = tuple(solve(rows, values))
        x, y = source[0]
        return cls(h, math.copysign(1.0, h[6] * x + h[7] * y + 1))

    def __call__(self, point: Point) -> Point | None:
        h, (x, y) = self.h, point
        w = h[6] * x + h[7] * y + 1
        if w * self.side <= 0:
            return None
        return (h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w


def solve(matrix: list[list[float]], values: list[float]) -> list[float]:
    """x with matrix @ x = values: Gaussian elimination with partial pivoting (the largest
    pivot keeps pixel-sized coefficients from swamping the small ones)."""
    n = len(values)
    a = [[*row, value] for row, value in zip(matrix, values, strict=True)]
    scale = max(abs(c) for row in a for c in row[:n]) or 1.0
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12 * scale:
            raise CalibrationError("The points do not determine a mapping (degenerate quad).")
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            a[r] = [c - factor * p for c, p in zip(a[r], a[col], strict=True)]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


def grid_corners(rows: int, columns: int) -> list[Point]:
    """A1, A<columns>, <last row><columns>, <last row>1 on the grid (column, row index)."""
    if rows < 2 or columns < 2:
        raise CalibrationError(
            "Four corner seats need a seat plan of at least 2 rows and 2 columns."
        )
    last_column, last_row = columns - 1, rows - 1
    return [(0, 0), (last_column, 0), (last_column, last_row), (0, last_row)]


def label(row: int, column: int) -> str:
    """As `exams.seating.label`: row index from 0 (A), column index from 0 here: (2, 6) ->
    "C7" (that module belongs to a Django app, which this floor does not import)."""
    return f"{string.ascii_uppercase[row]}{column + 1}"


def to_image(corners: Sequence[Point], rows: int, columns: int) -> Homography:
    """Seat grid -> image, for the camera calibrated by `corners`."""
    return Homography.fit(grid_corners(rows, columns), corners)


def seat_for_box(box: Box, corners: Sequence[Point], rows: int, columns: int) -> str | None:
    """The seat label of the face in `box`, or None when it sits on no seat of the plan.
    `corners` are in the same frame's pixels as `box` (see `Calibration.corners_in`)."""
    to_grid = Homography.fit(corners, grid_corners(rows, columns))
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    mapped = to_grid(centre)
    if mapped is None:
        return None  # beyond the horizon of the seats' plane: the ceiling, not a seat
    u, v = mapped
    column = min(max(round(u), 0), columns - 1)
    row = min(max(round(v), 0), rows - 1)
    if math.hypot(u - column, v - row) > REACH:
        return None
    return label(row, column)
