"""An exam room's seat plan: rows (letters, A at the front) by columns (numbers from 1), seat
labels like "C7", the next free seat in order, and a CSV of pre-assigned seats. No Django:
the model's validation, the admin's upload and the kiosk's allocation share it, and it is
tested alone."""

import csv
import io
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_ROWS = len(string.ascii_uppercase)  # one letter per row
MAX_COLUMNS = 99
LABEL = re.compile(r"^([A-Z])0*([0-9]{1,2})$")  # "C07" is C7


class SeatError(ValueError):
    """A seat label that is malformed or outside the plan."""


@dataclass(frozen=True)
class Plan:
    rows: int
    columns: int

    @property
    def exists(self) -> bool:
        return self.rows > 0 and self.columns > 0

    @property
    def size(self) -> int:
        return self.rows * self.columns if self.exists else 0

    def labels(self) -> list[str]:
        """Every seat, row by row from the front: A1, A2, ..., B1, ..."""
        return [label(r, c) for r in range(self.rows) for c in range(1, self.columns + 1)]

    def normalise(self, seat: str) -> str:
        """The seat's canonical label ("c07 " -> "C7"); SeatError when malformed or outside."""
        if not self.exists:
            raise SeatError("This exam has no seat plan (rows × columns).")
        match = LABEL.match(seat.strip().upper().replace(" ", ""))
        if match is None or int(match.group(2)) == 0:
            raise SeatError(f"{seat!r} is not a seat: a row letter and a column, e.g. C7.")
        row, column = ord(match.group(1)) - ord("A"), int(match.group(2))
        if row >= self.rows or column > self.columns:
            raise SeatError(
                f"Seat {match.group(1)}{column} is outside the plan: rows A–"
                f"{label(self.rows - 1, 1)[0]}, columns 1–{self.columns}."
            )
        return label(row, column)


def label(row: int, column: int) -> str:
    """Row index from 0 (A), column from 1: (2, 7) -> "C7"."""
    return f"{string.ascii_uppercase[row]}{column}"


def next_free(plan: Plan, taken: Iterable[str]) -> str | None:
    """The first seat in order (row by row) nobody holds; None when the room is full."""
    held = set(taken)
    return next((seat for seat in plan.labels() if seat not in held), None)


def seat_for(
    plan: Plan, *, assigned: str, taken: Iterable[str], reserved: Iterable[str]
) -> str | None:
    """The seat a student takes: their pre-assigned one, else the next seat in order that is
    neither taken nor pre-assigned to someone else. None without a plan or a free seat."""
    if not plan.exists:
        return None
    held = set(taken)
    if assigned and assigned not in held:
        return assigned
    return next_free(plan, held | set(reserved))


@dataclass(frozen=True)
class Assignments:
    seats: dict[str, str]  # student number -> seat label
    errors: list[str]  # one per bad line, with its line number


def parse_assignments(text: str, plan: Plan, enrolled: Mapping[str, object]) -> Assignments:
    """A CSV of student_number,seat (a header line optional) checked against the plan and
    the exam's enrolled students: unknown students, seats outside the plan, a seat given
    twice and a student given two seats are errors, each with its line number."""
    seats: dict[str, str] = {}
    holder: dict[str, int] = {}  # seat -> line that gave it
    errors: list[str] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or (line == 1 and cells[0].lower() == "student_number"):
            continue
        problem = _line_problem(cells, plan, enrolled, seats, holder)
        if problem:
            errors.append(f"Line {line}: {problem}")
            continue
        seat = plan.normalise(cells[1])
        seats[cells[0]], holder[seat] = seat, line
    if not seats and not errors:
        errors.append("The file has no student_number,seat lines.")
    return Assignments(seats, errors)


def _line_problem(
    cells: list[str], plan: Plan, enrolled: Mapping[str, object],
    seats: Mapping[str, str], holder: Mapping[str, int],
) -> str | None:  # fmt: skip
    if len(cells) != 2 or not all(cells):
        return "expected two columns, student_number,seat."
    number, seat = cells
    if number not in enrolled:
        return f"{number} is not a student enrolled in this exam."
    try:
        seat = plan.normalise(seat)
    except SeatError as exc:
        return str(exc)
    if number in seats:
        return f"{number} already has seat {seats[number]}."
    if seat in holder:
        return f"seat {seat} is already given on line {holder[seat]}."
    return None
