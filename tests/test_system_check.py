"""The student's pre-exam system check: face visible, lit and sharp; nothing stored."""

import cv2
import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from invigilation.env import Rate
from invigilation.exams.models import Attendance
from invigilation.proctoring.models import FrameRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def face(shared_data) -> np.ndarray:
    ok, image = cv2.VideoCapture(str(shared_data / "video" / "d9.mp4")).read()
    assert ok
    return image


def check(session, image: np.ndarray):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {session.token}")
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    return client.post(reverse("system-check"), jpeg, content_type="image/jpeg")


def test_a_clear_face_passes_and_nothing_is_recorded(sessions, face):
    response = check(sessions["S001"], face)
    assert response.status_code == 200
    body = response.json()
    assert body["faces"] == 1 and body["problems"] == [] and body["brightness"] > 50
    assert not Attendance.objects.exists() and not FrameRecord.objects.exists()


def test_each_problem_comes_with_its_plain_fix(sessions, face):
    empty = check(sessions["S001"], np.full((480, 640, 3), 120, np.uint8)).json()
    assert empty["faces"] == 0
    assert any(p.startswith("No face found: sit facing the camera") for p in empty["problems"])
    dark = check(sessions["S001"], (face * 0.1).astype(np.uint8)).json()
    assert any(p.startswith("Too dark: turn on a light") for p in dark["problems"])
    two = check(sessions["S001"], np.hstack([face, face])).json()
    assert two["faces"] == 2 and any("sit alone" in p for p in two["problems"])


def test_system_checks_are_rate_limited_apart_from_check_ins(sessions, settings):
    settings.SYSTEM_CHECK_RATE_LIMIT = Rate(2, 300)
    blank = np.full((240, 320, 3), 120, np.uint8)
    assert [check(sessions["S001"], blank).status_code for _ in range(3)] == [200, 200, 429]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {sessions['S001'].token}")
    jpeg = cv2.imencode(".jpg", blank)[1].tobytes()
    check_in = client.post(reverse("check-in"), jpeg, content_type="image/jpeg")
    assert check_in.status_code == 422  # not throttled: only the check-ins' own limit counts


def test_the_page_links_back_to_the_exam_and_says_nothing_is_recorded(sessions, client):
    token = sessions["S001"].token
    page = client.get(reverse("proctoring:system-check", args=[token])).content.decode()
    assert "Nothing is recorded" in page
    assert reverse("proctoring:capture", args=[token]) in page
    capture = client.get(reverse("proctoring:capture", args=[token])).content.decode()
    assert reverse("proctoring:system-check", args=[token]) in capture
