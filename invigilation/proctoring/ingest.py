"""Checks on what a student's capture page sends: frames, the identity check, the system
check and Finish."""

import io
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from invigilation import vision
from invigilation.exams.models import Attendance, ExamSession
from invigilation.exams.services import check_in, finish_session
from invigilation.proctoring import frames
from invigilation.proctoring.analysis import enrolment_for
from invigilation.proctoring.services import push_check_in, push_finished
from invigilation.proctoring.tasks import analyse_latest_frame
from invigilation.students.services import add_photo


class FrameRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


CHECK_IN_FIRST = "Check in first: run the identity check on your capture page."


def accept_frame(*, session: ExamSession, jpeg: bytes) -> bool:
    """Validate and queue a frame; True when a new analysis task was queued for it."""
    _check_session(session)
    if session.status == ExamSession.Status.SCHEDULED:
        # Unchecked frames would raise flags for a student the report counts as absent.
        raise FrameRefused(409, CHECK_IN_FIRST)
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
        raise FrameRefused(409, "You have finished this exam: nothing more is sent.")
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


@dataclass(frozen=True)
class CheckInResult:
    attendance: Attendance
    has_reference: bool  # False: no enrolment photo, so nothing was compared
    message: str  # what the student is told, in plain words


def check_in_with_photo(*, session: ExamSession, jpeg: bytes) -> CheckInResult:
    """The identity check at the start (and on a retry): one face, compared with the
    enrolment photos; the result reaches the exam's live dashboards."""
    _check_session(session)
    enrolment = enrolment_for(session)
    result = _one_face(jpeg, enrolment)
    enrolled_now = enrolment is None and _self_enrol(session, jpeg)
    if enrolled_now:
        enrolment = enrolment_for(session)
        result = _one_face(jpeg, enrolment)
    match = result.faces[0].identity
    has_reference = enrolment is not None
    with transaction.atomic():
        attendance = check_in(
            session=session,
            verified=match.is_match if match else None,
            distance=match.distance if match else None,
        )
        transaction.on_commit(
            lambda: push_check_in(attendance=attendance, has_reference=has_reference)
        )
    message = _check_in_message(session, match, has_reference, enrolled_now)
    return CheckInResult(attendance, has_reference, message)


def _analysed(
    jpeg: bytes, enrolment: vision.Enrolment | None, checks: vision.Checks
) -> vision.FrameAnalysis:
    """A picture the student sent, checked and analysed; an unreadable one is a 400."""
    _check_jpeg(jpeg)
    try:
        return vision.analyse_frame(jpeg, enrolment, checks)
    except vision.InvalidImage as exc:
        raise FrameRefused(400, f"The picture could not be read: {exc}") from exc


def _one_face(jpeg: bytes, enrolment: vision.Enrolment | None = None) -> vision.FrameAnalysis:
    result = _analysed(jpeg, enrolment, vision.Checks(expression=False, gaze=False))
    if result.face_count != 1:
        found = "No face" if result.face_count == 0 else f"{result.face_count} faces"
        raise FrameRefused(422, f"{found} in view: sit alone, facing the camera, and try again.")
    if result.quality and result.quality.too_dark:
        raise FrameRefused(422, "Too dark: turn on a light in front of you and try again.")
    return result


def _self_enrol(session: ExamSession, jpeg: bytes) -> bool:
    """Only in the demo: a student with no photo is enrolled from their first check-in, so a
    first run shows identity checks working. Never for a real exam."""
    if not settings.DEMO_SELF_ENROL or session.exam.course != settings.DEMO_COURSE:
        return False
    photo = add_photo(student=session.student, data=jpeg, original_name="demo check-in.jpg")
    return photo is not None and photo.embedding is not None


def _check_in_message(session: ExamSession, match, has_reference: bool, enrolled: bool) -> str:
    keep_open = "Monitoring has started: keep this page open, and press Finish when you are done."
    if not session.exam.check_identity:
        return f"This exam does not check identity by photo. {keep_open}"
    if not has_reference:
        return f"No reference photo: your invigilator will check your identity. {keep_open}"
    if enrolled:
        return (
            f"Demo: this photo is now your reference photo; checks compare you with it. {keep_open}"
        )
    if match is None or match.is_match:
        return f"Identity checked: you match your enrolment photo. {keep_open}"
    return (
        "Your face did not match your enrolment photo. Your invigilator will check; the exam "
        "continues. If the light or framing was poor, fix it and retry the identity check."
    )


@dataclass(frozen=True)
class SystemCheck:
    faces: int
    brightness: float
    sharpness: float
    problems: list[str]  # each with its plain fix; empty when all is well
    server_ms: float  # the server's own work, which the page takes off its upload timing


def system_check(*, session: ExamSession, jpeg: bytes) -> SystemCheck:
    """A trial frame before the exam: is one face visible, lit and sharp? Nothing is stored."""
    started = time.perf_counter()
    result = _analysed(jpeg, None, vision.Checks(identity=False, expression=False, gaze=False))
    quality = result.quality
    problems = []
    if result.face_count == 0:
        problems.append("No face found: sit facing the camera, with your whole face in view.")
    elif result.face_count > 1:
        problems.append(f"{result.face_count} faces found: sit alone in front of the camera.")
    if quality.too_dark:
        problems.append("Too dark: turn on a light in front of you (not behind you).")
    if quality.blurred:
        problems.append("Blurred: wipe the camera lens and keep still.")
    server_ms = round(1000 * (time.perf_counter() - started), 1)
    return SystemCheck(
        result.face_count, quality.brightness, quality.sharpness, problems, server_ms
    )


def finish(*, session: ExamSession) -> ExamSession:
    """The student pressed Finish: the session ends, and no flag is raised after it."""
    # The analysis and the stopped-stream check take the same lock, and look at the status
    # inside it: whatever they had not begun before this is never flagged.
    with frames.session_lock(session), transaction.atomic():
        if finish_session(session=session):
            transaction.on_commit(lambda: push_finished(session=session))
    return session
