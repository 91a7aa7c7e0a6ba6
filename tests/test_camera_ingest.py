"""A room camera's frames over the API: its token, the checks (JPEG, size up to 4K), the
camera's rate, only the latest frame kept in Redis, the worker's task queued with an id."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from helpers import jpeg
from rest_framework.test import APIClient

from invigilation.rooms import frames
from invigilation.rooms.models import Camera
from invigilation.rooms.tasks import analyse_room_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera(exam) -> Camera:
    return Camera.objects.create(exam=exam, name="Front left", frames_per_second=1.0)


@pytest.fixture
def queued(monkeypatch) -> list:
    """Tasks handed to Celery (recorded here: no worker runs in these tests)."""
    calls = []
    monkeypatch.setattr(
        analyse_room_frame, "apply_async", lambda args, expires: calls.append((args, expires))
    )
    return calls


def post(body: bytes, authorization: str | None, content_type: str = "image/jpeg"):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.post(reverse("camera-frame-ingest"), body, content_type=content_type)


def test_a_full_hd_frame_is_kept_by_reference_and_its_task_queued_on_commit(
    camera, queued, django_capture_on_commit_callbacks
):
    frame = jpeg(size=(1920, 1080))
    with django_capture_on_commit_callbacks(execute=True):
        response = post(frame, f"Camera {camera.token}")
    assert response.status_code == 202, response.json()
    assert response.json() == {"accepted": True, "queued": True, "interval": 1.0}
    assert queued == [([camera.pk], 10)]  # the camera's id: the broker never holds the image
    pending = frames.take_latest(camera, "test-claim")
    assert pending.jpeg == frame and abs(pending.received_at - time.time()) < 5


def test_a_4k_frame_is_accepted_and_a_larger_one_refused(camera, queued):
    assert post(jpeg(size=(3840, 2160)), f"Camera {camera.token}").status_code == 202
    time.sleep(0.55)  # past the rate limit
    response = post(jpeg(size=(4096, 2160)), f"Camera {camera.token}")
    assert response.status_code == 413
    assert response.json()["detail"] == "A room frame may be at most 3840 px wide."


def test_a_frame_over_the_byte_limit_is_refused(camera, queued, settings):
    settings.ROOM_FRAME_MAX_BYTES = 10_000
    response = post(jpeg(size=(1920, 1080)) + b"\0" * 10_000, f"Camera {camera.token}")
    assert response.status_code == 413
    assert response.json()["detail"] == "A room frame may be at most 9 KB."


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"", 400, "The frame is empty."),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, 415, "A frame must be a JPEG image."),
        (b"\xff\xd8\xff\xe0" + b"garbage" * 20, 400, "The frame is not a readable JPEG image."),
        (jpeg()[:-200], 400, "The frame is truncated (the JPEG has no end marker)."),
    ],
)
def test_bad_frames_get_a_clear_4xx(camera, queued, body, status, detail):
    response = post(body, f"Camera {camera.token}")
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert queued == []


def test_frames_faster_than_the_cameras_rate_are_refused_with_retry_after(camera, queued):
    camera.frames_per_second = 0.2  # one frame per 5 s: refused within 2.5 s of the last
    camera.save()
    assert post(jpeg(), f"Camera {camera.token}").status_code == 202
    second = post(jpeg(), f"Camera {camera.token}")
    assert second.status_code == 429 and second["Retry-After"] == "3"
    assert second.json()["detail"] == "Frames are arriving faster than this camera's rate."


def test_only_the_latest_waiting_frame_is_kept(camera, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(jpeg(colour=(1, 1, 1)), f"Camera {camera.token}")
        time.sleep(0.55)
        second = post(jpeg(colour=(250, 250, 250)), f"Camera {camera.token}")
    assert second.json()["queued"] is False  # the task already waiting will take it
    assert len(queued) == 1
    assert frames.counted(camera, "dropped") == 1  # the first frame, replaced unanalysed
    assert frames.take_latest(camera, "test-claim").jpeg == jpeg(colour=(250, 250, 250))


def test_a_frame_needs_a_valid_camera_token(camera, queued, sessions):
    assert post(jpeg(), None).status_code == 401
    unknown = post(jpeg(), "Camera not-a-token")
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "Unknown camera token, or its exam has ended."
    # A student's session token opens the student's endpoints, never a room camera's.
    student = post(jpeg(), f"Session {sessions['S001'].token}")
    assert student.status_code in (401, 403)
    assert queued == []


def test_an_inactive_camera_or_an_ended_exam_is_refused(camera, queued):
    camera.active = False
    camera.save()
    inactive = post(jpeg(), f"Camera {camera.token}")
    assert inactive.status_code == 409
    assert inactive.json()["detail"] == "This camera is switched off in the exam's settings."
    camera.active = True
    camera.save()
    camera.exam.starts_at = timezone.now() - timedelta(hours=3)
    camera.exam.ends_at = timezone.now() - timedelta(minutes=1)
    camera.exam.save()
    assert post(jpeg(), f"Camera {camera.token}").status_code == 401
    assert queued == []


def test_frames_before_the_exam_opens_are_refused(camera, queued):
    camera.exam.starts_at = timezone.now() + timedelta(hours=2)
    camera.exam.ends_at = timezone.now() + timedelta(hours=4)
    camera.exam.save()
    response = post(jpeg(), f"Camera {camera.token}")
    assert response.status_code == 409
    assert response.json()["detail"] == "The exam has not started yet."
