"""The seat plan's pure logic (no database): labels, the next free seat, pre-assigned seats
and the CSV of assignments with its errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from invigilation.exams.seating import (
    Plan,
    SeatError,
    label,
    next_free,
    parse_assignments,
    seat_for,
)

PLAN = Plan(rows=3, columns=4)  # A1..A4, B1..B4, C1..C4
ENROLLED = {"S001": 1, "S002": 2, "S003": 3}


def test_labels_run_row_by_row_from_the_front():
    assert label(0, 1) == "A1" and label(2, 7) == "C7"
    assert PLAN.labels()[:5] == ["A1", "A2", "A3", "A4", "B1"]
    assert PLAN.size == 12 and len(set(PLAN.labels())) == 12
    assert Plan(0, 0).labels() == [] and not Plan(0, 5).exists


@pytest.mark.parametrize(("typed", "seat"), [("C4", "C4"), (" c04 ", "C4"), ("a1", "A1")])
def test_a_seat_is_normalised(typed, seat):
    assert PLAN.normalise(typed) == seat


@pytest.mark.parametrize(
    ("typed", "why"),
    [("D1", "outside the plan"), ("A5", "outside the plan"), ("A0", "not a seat"),
     ("7C", "not a seat"), ("", "not a seat"), ("AA1", "not a seat")],
)  # fmt: skip
def test_a_seat_outside_the_plan_or_malformed_is_refused(typed, why):
    with pytest.raises(SeatError, match=why):
        PLAN.normalise(typed)


def test_no_plan_no_seat():
    with pytest.raises(SeatError, match="no seat plan"):
        Plan(0, 0).normalise("A1")
    assert seat_for(Plan(0, 0), assigned="", taken=[], reserved=[]) is None


def test_the_next_free_seat_skips_taken_ones_and_none_when_full():
    assert next_free(PLAN, []) == "A1"
    assert next_free(PLAN, ["A1", "A2", "A4"]) == "A3"
    assert next_free(PLAN, PLAN.labels()) is None


def test_a_pre_assigned_seat_comes_first_and_others_keep_off_reserved_seats():
    assert seat_for(PLAN, assigned="C2", taken=["A1"], reserved=["A2"]) == "C2"
    # Without one: the next seat nobody holds and nobody else was given.
    assert seat_for(PLAN, assigned="", taken=["A1"], reserved=["A2", "A3"]) == "A4"


def test_a_pre_assigned_seat_already_taken_falls_back_to_the_next_free_one():
    # Never two students on one seat, even if someone sat in the wrong place.
    assert seat_for(PLAN, assigned="A1", taken=["A1"], reserved=[]) == "A2"


def test_filling_the_room_gives_every_student_a_different_seat():
    taken: list[str] = []
    for _ in range(PLAN.size):
        taken.append(seat_for(PLAN, assigned="", taken=taken, reserved=["B2"]) or "")
        if taken[-1] == "":
            break
    assert "" in taken and "B2" not in taken  # full, with B2 kept for its student
    seated = [seat for seat in taken if seat]
    assert len(seated) == len(set(seated)) == PLAN.size - 1


def test_a_csv_of_assignments_is_read_with_or_without_a_header():
    parsed = parse_assignments("student_number,seat\nS001,A1\nS002, b3 \n\n", PLAN, ENROLLED)
    assert parsed.errors == [] and parsed.seats == {"S001": "A1", "S002": "B3"}
    assert parse_assignments("S003,C4\n", PLAN, ENROLLED).seats == {"S003": "C4"}


def test_every_bad_line_is_reported_with_its_line_number():
    text = "\n".join([
        "student_number,seat",
        "S001,A1",
        "S999,A2",  # unknown student
        "S002,Z9",  # outside the plan
        "S003,A1",  # duplicate seat
        "S001,B1",  # a second seat for S001
        "S002",  # one column
    ])  # fmt: skip
    errors = parse_assignments(text, PLAN, ENROLLED).errors
    assert len(errors) == 5, errors
    assert errors[0].startswith("Line 3:") and "S999 is not a student enrolled" in errors[0]
    assert errors[1].startswith("Line 4:") and "outside the plan" in errors[1]
    assert errors[2].startswith("Line 5:") and "seat A1 is already given on line 2" in errors[2]
    assert errors[3].startswith("Line 6:") and "S001 already has seat A1" in errors[3]
    assert errors[4].startswith("Line 7:") and "two columns" in errors[4]


def test_an_empty_file_is_an_error():
    assert parse_assignments("student_number,seat\n", PLAN, ENROLLED).errors == [
        "The file has no student_number,seat lines."
    ]


def test_the_module_needs_no_django():
    root = Path(__file__).resolve().parents[1]
    code = "import sys, invigilation.exams.seating; print('django' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert loaded.stdout.strip() == "False"
