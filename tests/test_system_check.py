"""The student's pre-exam system check: face visible, lit and sharp; nothing stored.

The frame is accepted at once (202) and checked on a worker; the page polls for the result.
Here the queued check runs in this process, as a worker would run it (real face models).
"""

import cv2
import numpy as np
import pytest
from django.test import TestCase
from django.urls import reverse
from rest_framework.test import APIClient

from invigilation.env import Rate
from invigilation.exams.models import Attendance
from invigilation.proctoring import ingest
from invigilation.proctoring.models import FrameRecord
from invigilation.vision import check_in_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def run_now(monkeypatch):
    """Checks queued on commit run at once, in this process, as a worker would run them."""
    monkeypatch.setattr(ingest, "queue_check", lambda task, *args: task.apply(args=args))


@pytest.fixture
def face(shared_data) -> np.ndarray:
    ok, image = cv2.VideoCapture(str(shared_data / "video" / "d9.mp4")).read()
    assert ok
    return image


def student(session) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {session.token}")
    return client


class Checked:
    """The upload's answer (202) and, polled once the check ran, its result."""

    def __init__(self, session, upload) -> None:
        self.upload, self.status_code = upload, upload.status_code
        self.result = (
            student(session).get(upload.json()["poll"]) if upload.status_code == 202 else None
        )

    def json(self) -> dict:
        return self.result.json() if self.result is not None else self.upload.json()


def check(session, image: np.ndarray) -> Checked:
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    with TestCase.captureOnCommitCallbacks(execute=True):
        upload = student(session).post(reverse("system-check"), jpeg, content_type="image/jpeg")
    return Checked(session, upload)


def test_a_clear_face_passes_and_nothing_is_recorded(sessions, face):
    response = check(sessions["S001"], face)
    assert response.status_code == 202
    accepted = response.upload.json()
    assert accepted["status"] == "pending"
    assert accepted["poll"] == reverse("system-check-result", args=[accepted["system_check"]])
    body = response.json()
    assert body["status"] == "done" and body["server_ms"] > 0
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
    assert [check(sessions["S001"], blank).status_code for _ in range(3)] == [202, 202, 429]
    check_in = student(sessions["S001"]).post(reverse("check-in"), b"", content_type="image/jpeg")
    assert check_in.status_code == 400  # not throttled: only the check-ins' own limit counts


def test_a_bad_picture_is_refused_at_once_and_an_unknown_check_is_a_404(sessions):
    client = student(sessions["S001"])
    refused = client.post(reverse("system-check"), b"GIF89a", content_type="image/jpeg")
    assert refused.status_code == 415 and "JPEG" in refused.json()["detail"]
    missing = client.get(reverse("system-check-result", args=["0" * 32]))
    assert missing.status_code == 404


def test_a_check_that_fails_on_the_worker_says_so(sessions, monkeypatch):
    def broken(jpeg):
        raise RuntimeError("the detector fell over")

    monkeypatch.setattr(check_in_assessment, "assess_system_check", broken)
    body = check(sessions["S001"], np.full((240, 320, 3), 120, np.uint8)).json()
    assert body["status"] == "done" and body["error"] is True
    assert body["problems"] == ["The check could not be completed: try again."]


def test_the_page_links_back_to_the_exam_and_says_nothing_is_recorded(sessions, client):
    token = sessions["S001"].token
    page = client.get(reverse("proctoring:system-check", args=[token])).content.decode()
    assert "Nothing is recorded" in page
    assert reverse("proctoring:capture", args=[token]) in page
    capture = client.get(reverse("proctoring:capture", args=[token])).content.decode()
    assert reverse("proctoring:system-check", args=[token]) in capture
