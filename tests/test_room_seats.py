"""Room cameras calibrated to the exam's seat plan: the worker gives each face its seat, so the
seat rules fire (a student at another's seat, one student at two seats); the calibration's
validation on the camera and in the admin.

The hall analysis is replaced by fixed readings per camera (as in test_room_worker.py)."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from helpers import jpeg

from invigilation.decisions import seat_map
from invigilation.exams.models import Exam, ExamSession
from invigilation.exams.services import check_in
from invigilation.proctoring.frames import PendingFrame
from invigilation.proctoring.models import Flag
from invigilation.rooms import frames, room_processing
from invigilation.rooms.models import Camera
from invigilation.vision import hall

pytestmark = pytest.mark.django_db

ROWS, COLUMNS = 3, 4
# A camera at the front, looking back: the back row higher and narrower.
FRONT_CALIBRATION = "1920x1080: 300,950; 1620,950; 1320,420; 600,420"
# One at the back, calibrated on a 1280x720 frame, now sending full HD: scaled by 1.5.
BACK_CALIBRATION = "1280x720: 1000,200; 280,200; 100,650; 1180,650"
FRAMES = {"Front": jpeg((90, 90, 90), (1920, 1080)), "Back": jpeg((160, 160, 160), (1920, 1080))}


@pytest.fixture
def seated(exam: Exam, sessions: dict[str, ExamSession]) -> Exam:
    """`exam` with a 3 x 4 seat plan, S001 checked in at A1 and S002 at A2."""
    exam.seat_rows, exam.seat_columns = ROWS, COLUMNS
    exam.save()
    for number, seat in [("S001", "A1"), ("S002", "A2")]:
        attendance = check_in(session=sessions[number], verified=True)
        attendance.seat = seat
        attendance.save(update_fields=["seat"])
    return exam


@pytest.fixture
def readings(monkeypatch) -> dict[bytes, list]:
    """The faces the (replaced) hall analysis reads in each camera's frames, by the frame."""
    faces: dict[bytes, list] = {frame: [] for frame in FRAMES.values()}
    monkeypatch.setattr(
        hall,
        "analyse_room_frame",
        lambda frame, roster: hall.RoomAnalysis(1920, 1080, faces[frame]),
    )
    return faces


def camera(exam: Exam, name: str, calibration: str = "") -> Camera:
    return Camera.objects.create(
        exam=exam, name=name, frames_per_second=1.0, seat_calibration=calibration
    )


def at_seat(student: str, seat: str, calibration: str) -> hall.RoomFaceReading:
    """`student`'s face, 60 px wide, centred where `calibration` puts `seat` in a full HD frame."""
    corners = seat_map.parse_camera_calibration(calibration).corners_in(1920, 1080)
    row, column = ord(seat[0]) - ord("A"), int(seat[1:]) - 1
    x, y = seat_map.to_image(corners, ROWS, COLUMNS)((column, row))
    return hall.RoomFaceReading((x - 30, y - 35, x + 30, y + 35), 0.9, student, 0.33)


def analyse(cam: Camera, at: float) -> list[Flag]:
    frames.put_latest(cam, PendingFrame(FRAMES[cam.name], at))
    return room_processing.process_latest_room_frame(camera_id=cam.pk, claim=f"{cam.name}{at}")


def test_a_student_at_another_students_seat_is_flagged(seated, sessions, readings):
    front = camera(seated, "Front", FRONT_CALIBRATION)
    readings[FRAMES["Front"]][:] = [at_seat("S001", "A2", FRONT_CALIBRATION)]
    start = time.time()
    assert analyse(front, start) == [] and analyse(front, start + 2) == []
    [flag] = analyse(front, start + 4)  # the third sighting
    assert flag.kind == Flag.Kind.SEAT_MISMATCH and flag.session == sessions["S001"]
    assert flag.message == "S001 is at seat A2, assigned to S002 (their seat: A1)"
    assert flag.evidence["seat"] == "A2" and flag.evidence["seat_holder"] == "S002"
    assert flag.evidence["assigned_seat"] == "A1" and flag.evidence["sightings"] == 3
    assert flag.snapshot and flag.thumbnail
    assert analyse(front, start + 6) == []  # once per episode


def test_an_uncalibrated_camera_judges_no_seats(seated, readings):
    front = camera(seated, "Front")
    readings[FRAMES["Front"]][:] = [at_seat("S001", "A2", FRONT_CALIBRATION)]
    start = time.time()
    assert [flag for i in range(4) for flag in analyse(front, start + 2 * i)] == []


def test_a_student_seen_at_two_seats_by_two_cameras_is_flagged(seated, sessions, readings):
    front, back = (
        camera(seated, "Front", FRONT_CALIBRATION),
        camera(seated, "Back", BACK_CALIBRATION),
    )
    readings[FRAMES["Front"]][:] = [at_seat("S001", "A1", FRONT_CALIBRATION)]  # their own seat
    readings[FRAMES["Back"]][:] = [at_seat("S001", "C4", BACK_CALIBRATION)]  # a look-alike
    start = time.time()
    flags = [flag for i in range(4) for flag in analyse((front, back)[i % 2], start + i)]
    # Sightings switch places on the 2nd, 3rd and 4th frame: the third switch fires.
    [flag] = flags
    assert flag.kind == Flag.Kind.TWO_SEATS and flag.session == sessions["S001"]
    assert flag.message == "S001 seen at two places within 30 s: seat A1 and seat C4"
    assert flag.evidence["camera"]["name"] == "Back"
    assert flag.evidence["other_sighting"]["camera"] == "Front"


def test_a_calibration_is_checked_on_save_and_against_the_seat_plan(exam):
    with pytest.raises(ValidationError, match="Expected 4 points"):
        camera(exam, "Front", "1920x1080: 300,950; 1620,950; 1320,420")
    unplanned = Camera(exam=exam, name="Front", seat_calibration=FRONT_CALIBRATION)
    with pytest.raises(ValidationError, match="no seat plan"):
        unplanned.full_clean()
    exam.seat_rows, exam.seat_columns = 1, COLUMNS
    exam.save()
    with pytest.raises(ValidationError, match="at least 2 rows and 2 columns"):
        unplanned.full_clean()
    exam.seat_rows = ROWS
    exam.save()
    unplanned.full_clean()


def test_the_admin_edits_a_cameras_calibration(client, admin_user, seated):
    front = camera(seated, "Front")
    client.force_login(admin_user)
    url = reverse("admin:rooms_camera_change", args=[front.pk])
    page = client.get(url).content.decode()
    assert 'name="seat_calibration"' in page and "Hover the camera" in page
    form = {"exam": seated.pk, "name": "Front", "frames_per_second": 1.0, "active": "on"}
    crossed = "1920x1080: 300,950; 1320,420; 1620,950; 600,420"
    refused = client.post(url, {**form, "seat_calibration": crossed})
    assert refused.status_code == 200 and "crossed or folded" in refused.content.decode()
    saved = client.post(url, {**form, "seat_calibration": FRONT_CALIBRATION})
    assert saved.status_code == 302
    front.refresh_from_db()
    assert front.seat_calibration == FRONT_CALIBRATION
