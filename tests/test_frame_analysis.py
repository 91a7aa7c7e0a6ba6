"""Webcam frames through the real models and the rules into flags (no broker involved)."""

import time
from pathlib import Path

import cv2
import pytest

from invigilation.proctoring import frames
from invigilation.proctoring.frame_processing import process_latest_frame
from invigilation.proctoring.models import Flag, FrameRecord
from invigilation.proctoring.tasks import analyse_latest_frame
from invigilation.students.services import add_photo

pytestmark = pytest.mark.django_db


def webcam_frames(video: Path, count: int, step: int = 15) -> list[bytes]:
    """Every step-th frame, scaled to a 640 px long side and JPEG-encoded like the browser."""
    capture, out = cv2.VideoCapture(str(video)), []
    index = 0
    while len(out) < count:
        ok, image = capture.read()
        assert ok, f"{video} ended after {index} frames"
        if index % step == 0:
            scale = 640 / max(image.shape[:2])
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            out.append(cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
        index += 1
    return out


@pytest.fixture
def clip(shared_data) -> list[bytes]:
    return webcam_frames(shared_data / "video" / "d13.mp4", 5)


@pytest.fixture
def session(sessions, settings):
    settings.IDENTITY_CHECK_EVERY = settings.IDENTITY_CHECK_EVERY_CLEAR = 1
    return sessions["S001"]


def feed(session, jpegs: list[bytes]) -> list[FrameRecord]:
    start = time.time()
    records = []
    for second, jpeg in enumerate(jpegs):
        frames.put_latest(session, frames.PendingFrame(jpeg, start + second))
        records.append(process_latest_frame(session_id=session.pk))
    return records


def test_a_proxy_test_taker_raises_an_identity_mismatch_flag_with_a_snapshot(
    session, clip, shared_data, django_capture_on_commit_callbacks
):
    someone_else = sorted((shared_data / "lfw-dev" / "images").glob("*/*.jpg"))[0]
    add_photo(student=session.student, data=someone_else.read_bytes(), check_inline=True)
    with django_capture_on_commit_callbacks() as pushed:
        records = feed(session, clip[:3])
    assert [r.face_count for r in records] == [1, 1, 1]
    assert all(r.identity_match is False and r.identity_distance > 0.6 for r in records)
    assert all(r.yaw is not None and r.brightness > 30 for r in records)
    flag = Flag.objects.get(session=session)
    assert (flag.kind, flag.severity, flag.evidence["checks"]) == ("identity_mismatch", 3, 3)
    assert Path(flag.snapshot.path).is_file()
    snapshot = cv2.imread(flag.snapshot.path)
    assert max(snapshot.shape[:2]) == 640  # the frame itself, boxed
    # The dashboard pushes (one status per frame, the flag once) wait for the commit.
    assert [callback.__qualname__.split(".")[0] for callback in pushed] == [
        "process_latest_frame", "process_latest_frame", "raise_flag", "process_latest_frame",
    ]  # fmt: skip


def test_the_enrolled_student_raises_nothing(session, clip):
    add_photo(student=session.student, data=clip[4], check_inline=True)
    records = feed(session, clip[:4])
    assert all(r.identity_match is True for r in records)
    assert not Flag.objects.exists()


def test_a_frame_that_expired_before_a_worker_took_it_is_skipped(session):
    assert process_latest_frame(session_id=session.pk) is None
    assert not FrameRecord.objects.exists()


def test_the_celery_task_analyses_the_waiting_frame(session, clip):
    frames.put_latest(session, frames.PendingFrame(clip[0], time.time()))
    analyse_latest_frame.apply(args=[session.pk]).get()
    record = FrameRecord.objects.get(session=session)
    assert record.face_count == 1 and record.identity_match is None  # no enrolment photo yet
    assert frames.take_latest(session, "test") is None  # consumed


def test_identity_is_checked_on_every_nth_frame(session, clip, shared_data, settings):
    settings.IDENTITY_CHECK_EVERY = settings.IDENTITY_CHECK_EVERY_CLEAR = 2
    add_photo(student=session.student, data=clip[4], check_inline=True)
    records = feed(session, clip[:4])
    assert [r.identity_match for r in records] == [True, None, True, None]
    assert all(r.face_count == 1 and r.yaw is not None for r in records)
