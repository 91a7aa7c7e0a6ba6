"""Checks on what a student's capture page sends: frames, the identity check's burst, the
system check and Finish. The pictures of the last two are judged on a worker (tasks.py):
the web process never loads the face models."""

import io
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from invigilation.exams.models import ExamSession
from invigilation.exams.services import finish_session
from invigilation.proctoring import bursts, frames
from invigilation.proctoring.services import push_finished
from invigilation.proctoring.tasks import (
    analyse_latest_frame,
    check_in_burst,
    queue_check,
    system_check_frame,
)


class FrameRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


CHECK_IN_FIRST = "Check in first: run the identity check on your capture page."


def accept_frame(*, session: ExamSession, jpeg: bytes) -> bool:
    """Validate and queue a frame; True when a new analysis task was queued for it."""
    check_session_open(session)
    if session.status == ExamSession.Status.SCHEDULED:
        # Unchecked frames would raise flags for a student the report counts as absent.
        raise FrameRefused(409, CHECK_IN_FIRST)
    check_jpeg(jpeg)
    interval = 0.5 / session.exam.sampling_fps  # twice the exam's rate, for jittery clients
    if not frames.admit(session, interval):
        raise FrameRefused(429, "Frames are arriving faster than the exam's rate.", interval)
    queued = frames.put_latest(session, frames.PendingFrame(jpeg, time.time()))
    if queued:
        analyse_latest_frame.apply_async(args=[session.pk], expires=settings.FRAME_TTL_SECONDS)
    return queued


def check_session_open(session: ExamSession) -> None:
    """409 (FrameRefused) when the session is finished or its exam has not opened yet."""
    now = timezone.now()
    if session.status == ExamSession.Status.FINISHED:
        raise FrameRefused(409, "You have finished this exam: nothing more is sent.")
    if now < session.exam.starts_at - settings.CHECK_IN_OPENS_BEFORE:
        raise FrameRefused(409, "The exam has not started yet.")


def check_jpeg(
    jpeg: bytes, *, max_bytes: int | None = None, max_side: int | None = None, name: str = "frame"
) -> None:
    """A whole, readable JPEG within the limits (a webcam frame's unless given, e.g. a room
    camera's); FrameRefused (4xx) saying what is wrong."""
    limit = settings.FRAME_MAX_BYTES if max_bytes is None else max_bytes
    side = settings.FRAME_MAX_SIDE if max_side is None else max_side
    if not jpeg:
        raise FrameRefused(400, "The frame is empty.")
    if len(jpeg) > limit:
        raise FrameRefused(413, f"A {name} may be at most {limit // 1024} KB.")
    if not jpeg.startswith(b"\xff\xd8\xff"):
        raise FrameRefused(415, "A frame must be a JPEG image.")
    too_wide = FrameRefused(413, f"A {name} may be at most {side} px wide.")
    try:
        with Image.open(io.BytesIO(jpeg)) as image:  # reads the header only
            width, height = image.size
    except Image.DecompressionBombError as exc:  # a header claiming billions of pixels
        raise too_wide from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise FrameRefused(400, "The frame is not a readable JPEG image.") from exc
    if max(width, height) > side:
        raise too_wide
    # Browsers and encoders end every JPEG with the EOI marker: without it the upload was cut.
    if not jpeg.endswith(b"\xff\xd9"):
        raise FrameRefused(400, "The frame is truncated (the JPEG has no end marker).")


def accept_check_in(
    *, session: ExamSession, jpegs: list[bytes], captured_at: list[float] | None
) -> str:
    """Validate a check-in burst, keep it in Redis and queue its check on a worker (once the
    request's transaction commits); returns the burst's id, which the page polls."""
    check_session_open(session)
    minimum, maximum = settings.CHECK_IN_BURST_MIN_FRAMES, settings.CHECK_IN_BURST_MAX_FRAMES
    if not minimum <= len(jpegs) <= maximum:
        raise FrameRefused(
            400,
            f"A check-in needs between {minimum} and {maximum} frames (`frames` parts of a "
            f"multipart/form-data body); {len(jpegs)} sent.",
        )
    if sum(len(jpeg) for jpeg in jpegs) > settings.CHECK_IN_BURST_MAX_BYTES:
        limit = settings.CHECK_IN_BURST_MAX_BYTES // 1024
        raise FrameRefused(413, f"A check-in burst may be at most {limit} KB in all.")
    for number, jpeg in enumerate(jpegs, start=1):
        try:
            check_jpeg(jpeg)
        except FrameRefused as exc:
            raise FrameRefused(exc.status, f"Frame {number}: {exc.message}") from exc
    if captured_at is not None and len(captured_at) != len(jpegs):
        raise FrameRefused(400, "`captured_at` must have one offset per frame.")
    burst_id = bursts.store(session, bursts.CHECK_IN, jpegs, captured_at)
    transaction.on_commit(lambda: queue_check(check_in_burst, session.pk, burst_id))
    return burst_id


def accept_system_check(*, session: ExamSession, jpeg: bytes) -> str:
    """Validate a system check's frame and queue it for a worker; returns the check's id."""
    check_session_open(session)
    check_jpeg(jpeg)
    check_id = bursts.store(session, bursts.SYSTEM_CHECK, [jpeg])
    transaction.on_commit(lambda: queue_check(system_check_frame, session.pk, check_id))
    return check_id


def finish(*, session: ExamSession) -> ExamSession:
    """The student pressed Finish: the session ends, and no flag is raised after it."""
    # The analysis and the stopped-stream check take the same lock, and look at the status
    # inside it: whatever they had not begun before this is never flagged.
    with frames.session_lock(session), transaction.atomic():
        if finish_session(session=session):
            transaction.on_commit(lambda: push_finished(session=session))
    return session
