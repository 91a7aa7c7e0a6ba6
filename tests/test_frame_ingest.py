import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from helpers import jpeg
from rest_framework.test import APIClient

from invigilation.exams.models import ExamSession
from invigilation.exams.services import check_in
from invigilation.proctoring import frames
from invigilation.proctoring.tasks import analyse_latest_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list:
    """Tasks handed to Celery (recorded here: no worker runs in these tests)."""
    calls = []
    monkeypatch.setattr(
        analyse_latest_frame, "apply_async", lambda args, expires: calls.append((args, expires))
    )
    return calls


@pytest.fixture
def session(sessions) -> ExamSession:
    """S001, checked in (frames before a check-in are refused)."""
    check_in(session=sessions["S001"], verified=None)
    return sessions["S001"]


def post(token: str | None, body: bytes, content_type: str = "image/jpeg"):
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Session {token}")
    return client.post(reverse("frame-ingest"), body, content_type=content_type)


def test_a_frame_is_stored_by_reference_and_queued(session, queued):
    response = post(session.token, jpeg())
    assert response.status_code == 202 and response.json() == {"accepted": True, "queued": True}
    assert queued == [([session.pk], 10)]
    pending = frames.take_latest(session, "test")
    assert pending.jpeg == jpeg() and abs(pending.received_at - time.time()) < 5


def test_only_the_latest_waiting_frame_is_kept(session, queued, settings):
    post(session.token, jpeg(colour=(1, 1, 1)))
    time.sleep(0.55)  # past the rate limit's interval
    second = post(session.token, jpeg(colour=(250, 250, 250)))
    assert second.json() == {"accepted": True, "queued": False}
    assert len(queued) == 1
    assert frames.dropped_frames(session) == 1  # the first frame, replaced unanalysed
    assert frames.take_latest(session, "test").jpeg == jpeg(colour=(250, 250, 250))


def test_stale_frames_expire_unanalysed(session, queued, settings):
    settings.FRAME_TTL_SECONDS = 1
    post(session.token, jpeg())
    time.sleep(1.3)
    assert frames.take_latest(session, "test") is None
    assert frames.dropped_frames(session) == 1


def test_frames_faster_than_the_exam_rate_are_refused(session, queued):
    assert post(session.token, jpeg()).status_code == 202
    response = post(session.token, jpeg())
    assert response.status_code == 429
    # Half the 1 frame/s interval, written in whole seconds as HTTP asks (never "0.5").
    assert response["Retry-After"] == "1"


@pytest.mark.parametrize(
    "body, content_type, status, message",
    [
        (b"", "image/jpeg", 400, "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/jpeg", 415, "must be a JPEG"),
        (b"\xff\xd8\xff" + b"garbage" * 10, "image/jpeg", 400, "not a readable JPEG"),
        (b"x" * 2_000_000, "image/jpeg", 413, "at most 1024 KB"),
        (b"{}", "application/json", 415, "Unsupported media type"),
    ],
)
def test_bad_frames_get_a_clear_error(session, queued, body, content_type, status, message):
    response = post(session.token, body, content_type)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert queued == []


def test_oversized_dimensions_are_refused(session, queued):
    response = post(session.token, jpeg(size=(2000, 1500)))
    assert response.status_code == 413 and "px" in response.json()["detail"]


def test_only_a_valid_session_token_may_send_frames(session, queued, invigilator):
    assert post(None, jpeg()).status_code in (401, 403)
    assert post("not-a-token", jpeg()).status_code == 401
    staff = APIClient()
    staff.force_authenticate(invigilator)
    response = staff.post(reverse("frame-ingest"), jpeg(), content_type="image/jpeg")
    assert response.status_code in (401, 403)
    assert queued == []


def test_frames_are_refused_before_the_student_checked_in(sessions, queued):
    not_checked_in = sessions["S002"]
    response = post(not_checked_in.token, jpeg())
    assert response.status_code == 409 and "Check in first" in response.json()["detail"]
    assert queued == [] and frames.take_latest(not_checked_in, "test") is None


def test_frames_are_refused_after_the_session_finished_or_before_the_exam(session, queued):
    session.status = ExamSession.Status.FINISHED
    session.save()
    response = post(session.token, jpeg())
    assert response.status_code == 409 and "finished" in response.json()["detail"]
    session.status = ExamSession.Status.SCHEDULED
    session.save()
    exam = session.exam
    exam.starts_at = timezone.now() + timedelta(hours=5)
    exam.ends_at = exam.starts_at + timedelta(hours=1)
    exam.save()
    response = post(session.token, jpeg())
    assert response.status_code == 409 and "not started" in response.json()["detail"]
