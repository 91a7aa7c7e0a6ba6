"""The identity check a student's capture page runs before streaming: a burst of frames,
uploaded at once (202), judged on a worker, and polled for its verdict.

The upload's validation and the polling are tested here with the worker's judgement
(`check_ins.check_in_from_burst`) replaced where it is not the point; the last tests run the
real judgement (real face models) in this process, and tests/test_check_in_worker.py on a
real Celery worker.
"""

import json
from datetime import timedelta
from itertools import islice

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from invigilation.env import Rate
from invigilation.exams.models import Attendance, ExamSession
from invigilation.proctoring import bursts, check_ins, ingest
from invigilation.proctoring.check_ins import CheckInVerdict
from invigilation.proctoring.management.commands.simulate_student import clip_frames
from invigilation.proctoring.models import CheckInAttempt
from invigilation.students.services import add_photo

pytestmark = pytest.mark.django_db


def jpeg(width: int = 640, height: int = 480, shade: int = 90) -> bytes:
    return cv2.imencode(".jpg", np.full((height, width, 3), shade, np.uint8))[1].tobytes()


def clip_burst(video, count: int = 12) -> list[bytes]:
    """The clip's first `count` frames at 4 per second, 640 px, as the capture page sends."""
    return list(islice(clip_frames(video, 4, loop=False), count))


@pytest.fixture
def genuine(shared_data) -> list[bytes]:
    return clip_burst(shared_data / "video" / "d13.mp4")


def student(session: ExamSession) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {session.token}")
    return client


def post_burst(session, jpegs: list[bytes], captured_at=None, **extra):
    form = {
        "frames": [SimpleUploadedFile(f"f{i}.jpg", j, "image/jpeg") for i, j in enumerate(jpegs)]
    }
    if captured_at is not None:
        form["captured_at"] = (
            captured_at if isinstance(captured_at, str) else json.dumps(captured_at)
        )
    return student(session).post(reverse("check-in"), {**form, **extra}, format="multipart")


def poll(session, response):
    return student(session).get(response.json()["poll"])


@pytest.fixture
def run_now(monkeypatch, django_capture_on_commit_callbacks):
    """Checks queued on commit run at once, in this process (as a worker would run them)."""
    monkeypatch.setattr(ingest, "queue_check", lambda task, *args: task.apply(args=args))

    def post(session, jpegs, captured_at=None):
        with django_capture_on_commit_callbacks(execute=True):
            return post_burst(session, jpegs, captured_at)

    return post


@pytest.fixture
def judged(monkeypatch) -> list[dict]:
    """The worker's judgement replaced: every burst verified; what it was given is kept."""
    calls = []

    def judge(*, session_id, jpegs, captured_at):
        calls.append({"session_id": session_id, "jpegs": jpegs, "captured_at": captured_at})
        return CheckInVerdict("verified", True, "Identity checked.", False, 2)

    monkeypatch.setattr(check_ins, "check_in_from_burst", judge)
    return calls


def test_a_burst_is_accepted_at_once_and_its_verdict_polled(sessions, judged, run_now):
    session = sessions["S001"]
    frames = [jpeg(shade=80 + i) for i in range(8)]
    offsets = [250 * i for i in range(8)]
    response = run_now(session, frames, offsets)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and len(body["check_in"]) == 32
    assert body["poll"] == reverse("check-in-result", args=[body["check_in"]])
    assert judged == [{"session_id": session.pk, "jpegs": frames, "captured_at": offsets}]
    verdict = poll(session, response)
    assert verdict.status_code == 200
    assert verdict.json() == {"status": "done", "outcome": "verified", "verified": True,
                              "message": "Identity checked.", "retry": False,
                              "attempts_left": 2}  # fmt: skip
    # The burst left Redis once judged; only the verdict is kept.
    assert bursts.load(bursts.CHECK_IN, body["check_in"]) is None


def test_the_poll_says_pending_until_a_worker_has_judged_the_burst(sessions, monkeypatch):
    queued = []
    monkeypatch.setattr(ingest, "queue_check", lambda task, *args: queued.append(args))
    response = post_burst(sessions["S001"], [jpeg()] * 6)
    assert response.status_code == 202
    assert poll(sessions["S001"], response).json() == {"status": "pending"}


def test_without_captured_at_the_frames_are_spaced_at_the_burst_rate(
    sessions, judged, run_now, settings
):
    settings.CHECK_IN_BURST_FPS = 4
    assert run_now(sessions["S001"], [jpeg()] * 6).status_code == 202
    assert judged[0]["captured_at"] == [0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0]


def test_a_failed_check_says_so_instead_of_leaving_the_page_waiting(sessions, monkeypatch, run_now):
    def broken(**kwargs):
        raise RuntimeError("the models fell over")

    monkeypatch.setattr(check_ins, "check_in_from_burst", broken)
    response = run_now(sessions["S001"], [jpeg()] * 6)
    verdict = poll(sessions["S001"], response).json()
    assert verdict["status"] == "done" and verdict["outcome"] == "error"
    assert verdict["message"] == "The check could not be completed: try again."
    assert verdict["retry"] is True


def test_a_burst_that_expired_before_a_worker_took_it_says_so(sessions, monkeypatch, judged):
    from invigilation.proctoring.tasks import check_in_burst

    queued = []
    monkeypatch.setattr(ingest, "queue_check", lambda task, *args: queued.append(args))
    response = post_burst(sessions["S001"], [jpeg()] * 6)
    burst_id = response.json()["check_in"]
    bursts.discard(bursts.CHECK_IN, burst_id)  # as its TTL would
    check_in_burst.apply(args=[sessions["S001"].pk, burst_id])
    assert poll(sessions["S001"], response).json()["outcome"] == "error"
    assert not judged


@pytest.mark.parametrize(("count", "fragment"), [(0, "0 sent"), (5, "5 sent"), (21, "21 sent")])
def test_a_burst_must_have_between_min_and_max_frames(sessions, settings, count, fragment):
    settings.CHECK_IN_BURST_MIN_FRAMES, settings.CHECK_IN_BURST_MAX_FRAMES = 6, 20
    response = post_burst(sessions["S001"], [jpeg(64, 48)] * count)
    assert response.status_code == 400
    assert "between 6 and 20 frames" in response.json()["detail"]
    assert fragment in response.json()["detail"]


def test_each_frame_is_checked_like_a_webcam_frame(sessions, settings):
    frames = [jpeg()] * 6
    not_jpeg = post_burst(sessions["S001"], [*frames[:2], b"GIF89a not a jpeg", *frames[3:]])
    assert not_jpeg.status_code == 415
    assert not_jpeg.json()["detail"] == "Frame 3: A frame must be a JPEG image."
    truncated = post_burst(sessions["S001"], [*frames[:5], frames[0][:-2]])
    assert truncated.status_code == 400 and truncated.json()["detail"].startswith("Frame 6: ")
    wide = post_burst(sessions["S001"], [*frames[:5], jpeg(2000, 100)])
    assert wide.status_code == 413 and "px wide" in wide.json()["detail"]
    settings.FRAME_MAX_BYTES = 2000
    big = post_burst(sessions["S001"], [jpeg(8, 8)] * 5 + [jpeg(640, 480, 3) + b"\0" * 3000])
    assert big.status_code == 413 and "at most 1 KB" in big.json()["detail"]


def test_the_whole_burst_has_a_size_limit(sessions, settings):
    settings.CHECK_IN_BURST_MAX_BYTES = 6 * len(jpeg()) - 1
    response = post_burst(sessions["S001"], [jpeg()] * 6)
    assert response.status_code == 413 and "in all" in response.json()["detail"]


@pytest.mark.parametrize(
    "captured_at",
    ["not json", "{}", '"0,1"', "[0, 1, 2]", '[0, 1, 2, 3, 4, "5"]', "[0, 1, 2, 3, 4, true]",
     "[0, 1, 2, 3, 4, -5]", "[0, 1, 2, 3, 4, 1e400]", "[" + "[" * 50 + "]" * 50 + "]"],
)  # fmt: skip
def test_bad_capture_times_are_refused_clearly(sessions, captured_at):
    response = post_burst(sessions["S001"], [jpeg()] * 6, captured_at)
    assert response.status_code == 400, response.content
    assert "captured_at" in response.json()["detail"]


def test_a_single_jpeg_body_or_no_body_is_refused_clearly(sessions):
    client = student(sessions["S001"])
    single = client.post(reverse("check-in"), jpeg(), content_type="image/jpeg")
    assert single.status_code == 415
    empty = client.post(reverse("check-in"), b"", content_type="image/jpeg")
    assert empty.status_code == 400 and "0 sent" in empty.json()["detail"]
    garbled = client.post(
        reverse("check-in"), b"--x\r\nnonsense", content_type="multipart/form-data; boundary=x"
    )
    assert garbled.status_code == 400


def test_a_finished_session_or_an_exam_not_yet_open_is_refused_with_409(sessions, exam):
    session = sessions["S001"]
    session.status = ExamSession.Status.FINISHED
    session.save()
    finished = post_burst(session, [jpeg()] * 6)
    assert finished.status_code == 409 and "finished" in finished.json()["detail"]
    other = sessions["S002"]
    exam.starts_at = timezone.now() + timedelta(hours=2)
    exam.ends_at = exam.starts_at + timedelta(hours=1)
    exam.save()
    early = post_burst(other, [jpeg()] * 6)
    assert early.status_code == 409 and "not started" in early.json()["detail"]


def test_check_ins_are_rate_limited_per_session(sessions, settings, monkeypatch):
    monkeypatch.setattr(ingest, "queue_check", lambda task, *args: None)
    settings.CHECK_IN_RATE_LIMIT = Rate(2, 300)
    codes = [post_burst(sessions["S001"], [jpeg()] * 6).status_code for _ in range(3)]
    assert codes == [202, 202, 429]


def test_an_unknown_expired_or_someone_elses_check_in_is_a_404(sessions, judged, run_now):
    mine = run_now(sessions["S001"], [jpeg()] * 6)
    theirs = student(sessions["S002"]).get(mine.json()["poll"])
    assert theirs.status_code == 404 and "unknown" in theirs.json()["detail"]
    for check_id in ("0" * 32, "not-an-id", "A" * 32):
        missing = student(sessions["S001"]).get(reverse("check-in-result", args=[check_id]))
        assert missing.status_code == 404
    anonymous = APIClient().get(mine.json()["poll"])
    assert anonymous.status_code == 401


# The real judgement, in this process (check_ins.check_in_from_burst, real face models).


def test_the_enrolled_student_is_verified_and_marked_present(sessions, genuine, run_now):
    session = sessions["S001"]
    add_photo(student=session.student, data=genuine[0], check_inline=True)
    response = run_now(session, genuine, [250 * i for i in range(len(genuine))])
    assert response.status_code == 202
    verdict = poll(session, response).json()
    assert verdict["status"] == "done", verdict
    assert (verdict["outcome"], verdict["verified"]) == ("verified", True), verdict
    attendance = Attendance.objects.get(session=session)
    assert attendance.verified is True
    session.refresh_from_db()
    assert session.status == ExamSession.Status.IN_PROGRESS
    assert CheckInAttempt.objects.filter(session=session, outcome="verified").exists()


def test_without_a_reference_photo_the_student_is_told_nothing_was_checked(
    sessions, genuine, run_now
):
    session = sessions["S001"]
    verdict = poll(session, run_now(session, genuine)).json()
    assert verdict["outcome"] == "no_reference" and verdict["verified"] is None, verdict
    assert "Identity checked" not in verdict["message"]
    assert Attendance.objects.filter(session=session).exists()


def test_a_burst_without_a_face_asks_to_try_again(sessions, run_now):
    session = sessions["S001"]
    add_photo(student=session.student, data=jpeg(), check_inline=True)
    verdict = poll(session, run_now(session, [jpeg(shade=90 + i) for i in range(8)])).json()
    assert verdict["status"] == "done" and verdict["retry"] is True, verdict
    assert verdict["outcome"] in ("unusable", "no_reference"), verdict


# The web server's body limit for the check-in route (server/body_limits.py).


def limit_for(length: int, authorization: bytes | None = None, method: str = "POST"):
    from asgiref.sync import async_to_sync

    from invigilation.server import body_limits

    headers = [(b"content-length", str(length).encode())]
    headers += [(b"authorization", authorization)] if authorization else []
    scope = {"type": "http", "method": method, "path": reverse("check-in"), "headers": headers}
    return async_to_sync(body_limits._limit_for)(scope, length)


def test_a_burst_may_be_larger_than_a_frame_only_with_a_valid_session_token(
    sessions, settings, monkeypatch
):
    from invigilation.server import body_limits

    async def valid(token: str) -> bool:  # the database lookup, without a thread
        return token == sessions["S001"].token

    monkeypatch.setattr(body_limits, "_session_token_is_valid", valid)
    settings.REQUEST_MAX_BYTES, settings.CHECK_IN_BURST_MAX_BYTES = 1024 * 1024, 8 * 1024 * 1024
    burst = settings.CHECK_IN_BURST_MAX_BYTES + body_limits.FORM_SLACK
    token = f"Session {sessions['S001'].token}".encode()
    assert limit_for(3 * 1024 * 1024, token).max_bytes == burst
    assert limit_for(3 * 1024 * 1024, b"Session not-a-token").max_bytes == 1024 * 1024
    assert limit_for(3 * 1024 * 1024).max_bytes == 1024 * 1024  # anonymous
    assert limit_for(100_000).max_bytes == 1024 * 1024  # small: no lookup needed


@hypothesis_settings(
    max_examples=40, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(["frames", "captured_at", "other"]),
            st.one_of(st.binary(max_size=300), st.just(b"\xff\xd8\xff")),
            st.booleans(),  # sent as a file
        ),
        max_size=25,
    )
)
def test_any_malformed_burst_gets_a_4xx_never_a_500(sessions, monkeypatch, settings, parts):
    monkeypatch.setattr(ingest, "queue_check", lambda task, *args: None)
    settings.CHECK_IN_RATE_LIMIT = Rate(100_000, 300)  # every example reaches the view
    form = {}
    for name, data, as_file in parts:
        value = (
            SimpleUploadedFile("f.jpg", data, "image/jpeg") if as_file else data.decode("latin-1")
        )
        form.setdefault(name, []).append(value)
    response = student(sessions["S001"]).post(reverse("check-in"), form, format="multipart")
    assert response.status_code in (400, 413, 415), (response.status_code, parts)
    assert response.json()["detail"]
