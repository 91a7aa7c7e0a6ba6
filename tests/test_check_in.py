"""The identity check a student's capture page runs before streaming (real face models)."""

import cv2
import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from invigilation.exams.models import Attendance, ExamSession
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
