"""The identity check a student's capture page runs before streaming (real face models)."""

import cv2
import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse
from rest_framework.test import APIClient

from invigilation.exams.models import Attendance, ExamSession
from invigilation.proctoring.groups import exam_group
from invigilation.students.services import add_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def frame(shared_data) -> bytes:
    capture = cv2.VideoCapture(str(shared_data / "video" / "d9.mp4"))
    ok, image = capture.read()
    assert ok
    return cv2.imencode(".jpg", image)[1].tobytes()


def check_in(session: ExamSession, jpeg: bytes):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {session.token}")
    return client.post(reverse("check-in"), jpeg, content_type="image/jpeg")


def test_the_enrolled_student_is_verified_and_marked_present(sessions, frame):
    session = sessions["S001"]
    add_photo(student=session.student, data=frame)
    response = check_in(session, frame)
    assert response.status_code == 200
    assert response.json()["verified"] is True
    attendance = Attendance.objects.get(session=session)
    assert attendance.verified is True and attendance.verification_distance < 0.3
    session.refresh_from_db()
    assert session.status == ExamSession.Status.IN_PROGRESS and session.started_at


def test_someone_else_checks_in_unverified(sessions, frame, shared_data):
    session = sessions["S001"]
    other = sorted((shared_data / "lfw-dev" / "images").glob("*/*.jpg"))[0].read_bytes()
    add_photo(student=session.student, data=other)
    assert check_in(session, frame).json()["verified"] is False
    assert Attendance.objects.get(session=session).verified is False


def test_a_check_in_without_a_face_asks_to_try_again(sessions):
    blank = cv2.imencode(".jpg", np.full((480, 640, 3), 90, np.uint8))[1].tobytes()
    response = check_in(sessions["S001"], blank)
    assert response.status_code == 422 and "No face in view" in response.json()["detail"]
    assert not Attendance.objects.exists()


def test_without_a_reference_photo_the_student_is_told_nothing_was_checked(sessions, frame):
    response = check_in(sessions["S001"], frame)
    body = response.json()
    assert response.status_code == 200
    assert (body["verified"], body["has_reference"]) == (None, False)
    assert body["message"].startswith("No reference photo: your invigilator will check")
    assert "Identity checked" not in body["message"]


def test_a_failed_match_may_be_retried_and_the_retry_replaces_the_result(sessions, frame):
    session = sessions["S001"]
    dark = cv2.imencode(".jpg", (cv2.imdecode(np.frombuffer(frame, np.uint8), 1) * 0.1))[1]
    add_photo(student=session.student, data=frame)
    too_dark = check_in(session, dark.tobytes())
    assert too_dark.status_code == 422 and "Too dark" in too_dark.json()["detail"]
    assert check_in(session, frame).json()["verified"] is True
    first = Attendance.objects.get(session=session).checked_in_at
    retried = check_in(session, frame).json()
    assert retried["verified"] is True and "Identity checked" in retried["message"]
    assert Attendance.objects.get(session=session).checked_in_at == first  # first time kept


def test_the_check_in_result_reaches_the_live_dashboards(
    sessions, frame, django_capture_on_commit_callbacks
):
    session = sessions["S001"]
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(exam_group(session.exam_id), channel)
    with django_capture_on_commit_callbacks(execute=True):
        check_in(session, frame)
    event = async_to_sync(layer.receive)(channel)
    attendance = Attendance.objects.get(session=session)
    assert event == {
        "type": "session.checked_in",
        "check_in": {
            "session": session.pk,
            "checked_in_at": attendance.checked_in_at.isoformat(),
            "verified": None,
            "distance": None,
            "has_reference": False,
        },
    }


def test_the_demo_exam_enrols_a_student_without_a_photo_at_the_first_check_in(
    sessions, frame, settings
):
    session = sessions["S001"]
    settings.DEMO_SELF_ENROL = True
    exam = session.exam
    exam.course = settings.DEMO_COURSE
    exam.save()
    body = check_in(session, frame).json()
    assert (body["verified"], body["has_reference"]) == (True, True)
    assert body["message"].startswith("Demo: this photo is now your reference photo")
    assert session.student.photos.get().face_check == "accepted"


def test_outside_the_demo_no_photo_is_ever_taken_from_a_check_in(sessions, frame, settings):
    settings.DEMO_SELF_ENROL = True  # on, but this is not the demo exam
    body = check_in(sessions["S001"], frame).json()
    assert body["has_reference"] is False and not sessions["S001"].student.photos.exists()
