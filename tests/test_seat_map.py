"""A camera's seat calibration alone (decisions.seat_map): no Django, no database. A synthetic
hall camera at the front looking back over 6 rows of 10 seats, slightly rolled."""

import pytest

from invigilation.decisions.seat_map import (
    CalibrationError,
    grid_corners,
    label,
    parse_calibration,
    parse_camera_calibration,
    seat_for_box,
    solve,
    to_image,
)
from invigilation.exams.seating import Plan

ROWS, COLUMNS = 6, 10


def project(u: float, v: float) -> tuple[float, float]:
    """Where a face at grid (column u, row v) appears: a pinhole camera, seats 2 + v away, so
    the back rows are smaller and higher; then rolled (x leans with y)."""
    depth = 2 + v
    x, y = 960 + 300 * (u - 4.5) / depth, 300 + 1400 / depth
    return x + 0.15 * (y - 540), y


CORNERS = [project(u, v) for u, v in grid_corners(ROWS, COLUMNS)]


def face(u: float, v: float, size: float = 40) -> tuple[float, float, float, float]:
    x, y = project(u, v)
    return (x - size / 2, y - size / 2, x + size / 2, y + size / 2)


def test_the_four_corners_recover_every_seat_of_the_grid():
    to_frame = to_image(CORNERS, ROWS, COLUMNS)
    for row in range(ROWS):
        for column in range(COLUMNS):
            assert to_frame((column, row)) == pytest.approx(project(column, row), abs=1e-6)
            assert seat_for_box(face(column, row), CORNERS, ROWS, COLUMNS) == label(row, column)


def test_a_face_a_little_off_its_seat_is_still_on_it():
    assert seat_for_box(face(3.3, 2), CORNERS, ROWS, COLUMNS) == "C4"
    assert seat_for_box(face(7, 4.35), CORNERS, ROWS, COLUMNS) == "E8"


@pytest.mark.parametrize(
    "where",
    [
        (3.5, 2.5),  # between four seats: an aisle crossing
        (2.6, 0.6),  # between A3 and B4, off both (someone leaning into the aisle)
        (-1, 0),  # left of the plan
        (COLUMNS, 3),  # right of it
        (4, ROWS),  # behind the back row
    ],
)
def test_a_face_off_every_seat_has_none(where):
    assert seat_for_box(face(*where), CORNERS, ROWS, COLUMNS) is None


def test_a_face_above_the_horizon_of_the_seats_has_none():
    # The seats' plane meets the horizon at y = 300: above it is the ceiling.
    assert seat_for_box((940, 30, 980, 70), CORNERS, ROWS, COLUMNS) is None


@pytest.mark.parametrize("rows, columns", [(2, 2), (5, 7), (26, 99)])
def test_labels_agree_with_the_exams_seat_plan(rows, columns):
    plan = Plan(rows, columns)
    assert [label(r, c) for r in range(rows) for c in range(columns)] == plan.labels()
    # An overhead camera: seat (c, r) at pixel (100 + 20 c, 100 + 30 r).
    corners = [(100 + 20 * u, 100 + 30 * v) for u, v in grid_corners(rows, columns)]
    found = [
        seat_for_box((95 + 20 * c, 95 + 30 * r, 105 + 20 * c, 105 + 30 * r), corners, rows, columns)
        for r in range(rows)
        for c in range(columns)
    ]
    assert found == plan.labels()


def test_a_calibration_scales_to_the_frame_it_is_used_on():
    calibration = parse_camera_calibration("1280x720: 100,600; 1180,600; 900,200; 380,200")
    assert calibration.size == (1280, 720)
    assert calibration.corners_in(1920, 1080) == [
        (150, 900), (1770, 900), (1350, 300), (570, 300)
    ]  # fmt: skip


def test_points_are_read_with_spaces_and_a_trailing_semicolon():
    text = " 10,20 ; 300.5, 20;300,200 ;10 , 200; "
    assert parse_calibration(text) == [(10, 20), (300.5, 20), (300, 200), (10, 200)]


@pytest.mark.parametrize(
    "text, error",
    [
        ("10,20; 300,20; 300,200", "Expected 4 points"),
        ("10,20; 300,20; 300,200; 10,200; 5,5", "Expected 4 points"),
        ("", "Expected 4 points"),
        ("10,20; 300,20; 300,two hundred; 10,200", 'Point 3 ("300,two hundred")'),
        ("10,20; 300; 300,200; 10,200", "Point 2"),
        ("10,20; 300,20,5; 300,200; 10,200", "Point 2"),
        ("10,20; nan,20; 300,200; 10,200", "not a pixel position"),
        ("10,20; 10,20; 300,200; 10,200", "at the same place"),
        ("10,20; 150,20; 300,20; 10,200", "on one line"),
        ("10,20; 300,200; 300,20; 10,200", "crossed"),  # front right and back right swapped
    ],
)
def test_bad_points_are_refused_with_a_clear_error(text, error):
    with pytest.raises(CalibrationError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse_calibration(text)


@pytest.mark.parametrize(
    "text, error",
    [
        ("10,20; 300,20; 300,200; 10,200", "Start with the frame size"),
        ("0x1080: 10,20; 300,20; 300,200; 10,200", "empty"),
        ("640x480: 10,20; 700,20; 300,200; 10,200", "Point 700,20 is outside the 640x480"),
    ],
)
def test_a_bad_camera_calibration_is_refused_with_a_clear_error(text, error):
    with pytest.raises(CalibrationError, match=error):
        parse_camera_calibration(text)


def test_a_plan_of_one_row_cannot_be_calibrated_by_four_corners():
    with pytest.raises(CalibrationError, match="at least 2 rows and 2 columns"):
        seat_for_box((0, 0, 10, 10), CORNERS, 1, COLUMNS)


def test_the_solver_pivots_past_a_zero():
    # The first pivot is 0: without row swaps this divides by zero.
    assert solve([[0, 1, 1], [2, 1, 0], [1, 0, 3]], [5, 4, 10]) == pytest.approx([1, 2, 3])
