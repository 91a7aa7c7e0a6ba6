"""Checks on an incoming webcam frame, before it is queued for analysis."""

import io
import time

from django.conf import settings
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from invigilation import vision
from invigilation.exams.models import Attendance, ExamSession
from invigilation.exams.services import check_in
from invigilation.proctoring import frames
from invigilation.proctoring.analysis import enrolment_for
from invigilation.proctoring.tasks import analyse_latest_frame


class FrameRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


def accept_frame(*, session: ExamSession, jpeg: bytes) -> bool:
    """Validate and queue a frame; True when a new analysis task was queued for it."""
    _check_session(session)
    _check_jpeg(jpeg)
    interval = 0.5 / session.exam.sampling_fps  # twice the exam's rate, for jittery clients
    if not frames.admit(session, interval):
        raise FrameRefused(429, "Frames are arriving faster than the exam's rate.", interval)
    queued = frames.put_latest(session, frames.PendingFrame(jpeg, time.time()))
    if queued:
        analyse_latest_frame.apply_async(args=[session.pk], expires=settings.FRAME_TTL_SECONDS)
    return queued


def _check_session(session: ExamSession) -> None:
    now = timezone.now()
    if session.status == ExamSession.Status.FINISHED:
        raise FrameRefused(409, "This exam session has finished.")
    if now < session.exam.starts_at - settings.CHECK_IN_OPENS_BEFORE:
        raise FrameRefused(409, "The exam has not started yet.")


def _check_jpeg(jpeg: bytes) -> None:
    if not jpeg:
        raise FrameRefused(400, "The frame is empty.")
    if len(jpeg) > settings.FRAME_MAX_BYTES:
        raise FrameRefused(413, f"A frame may be at most {settings.FRAME_MAX_BYTES // 1024} KB.")
    if not jpeg.startswith(b"\xff\xd8\xff"):
        raise FrameRefused(415, "A frame must be a JPEG image.")
    too_wide = FrameRefused(413, f"A frame may be at most {settings.FRAME_MAX_SIDE} px wide.")
    try:
        with Image.open(io.BytesIO(jpeg)) as image:  # reads the header only
            width, height = image.size
    except Image.DecompressionBombError as exc:  # a header claiming billions of pixels
        raise too_wide from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise FrameRefused(400, "The frame is not a readable JPEG image.") from exc
    if max(width, height) > settings.FRAME_MAX_SIDE:
        raise too_wide
    # Browsers and encoders end every JPEG with the EOI marker: without it the upload was cut.
    if not jpeg.endswith(b"\xff\xd9"):
        raise FrameRefused(400, "The frame is truncated (the JPEG has no end marker).")


def check_in_with_photo(*, session: ExamSession, jpeg: bytes) -> Attendance:
    """The identity check at the start: one face, compared with the enrolment photos."""
    _check_session(session)
    _check_jpeg(jpeg)
    enrolment = enrolment_for(session)
    try:
        result = vision.analyse_frame(jpeg, enrolment, vision.Checks(expression=False, gaze=False))
    except vision.InvalidImage as exc:
        raise FrameRefused(400, f"The photo could not be read: {exc}") from exc
    if result.face_count != 1:
        found = "No face" if result.face_count == 0 else f"{result.face_count} faces"
        raise FrameRefused(422, f"{found} in view: sit alone, facing the camera, and try again.")
    match = result.faces[0].identity
    return check_in(
        session=session,
        verified=match.is_match if match else None,
        distance=match.distance if match else None,
    )
