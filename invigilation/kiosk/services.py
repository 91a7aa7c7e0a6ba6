"""Writes for the entrance kiosk: a burst accepted and queued by reference, a verdict
recorded (with its alert on the dashboard), and the invigilator's decision: confirm (the
student is checked in at a seat), override by student number (a 1:1 check), or reject.

Nothing here imports the face models: the web process uses this module, and the worker's
judging (judging.py) records its verdicts through it."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from invigilation.exams.models import Attendance, Exam, ExamSession
from invigilation.exams.services import check_in
from invigilation.kiosk import bursts
from invigilation.kiosk.models import KioskAttempt
from invigilation.kiosk.selectors import seat_to_take, session_by_number
from invigilation.proctoring.ingest import FrameRefused, check_jpeg
from invigilation.proctoring.models import Flag
from invigilation.proctoring.services import push_check_in, raise_flag

Outcome = KioskAttempt.Outcome

# Verdicts that are alerts on the exam's dashboard, with their severity.
ALERTS = {
    Outcome.NOT_ENROLLED: (Flag.Kind.NOT_ENROLLED, Flag.Severity.HIGH),
    Outcome.NO_MATCH: (Flag.Kind.NO_MATCH, Flag.Severity.MEDIUM),
    Outcome.NOT_VERIFIED: (Flag.Kind.NO_MATCH, Flag.Severity.MEDIUM),
    Outcome.LIVENESS_FAILED: (Flag.Kind.LIVENESS_FAILED, Flag.Severity.MEDIUM),
    Outcome.ALREADY_CHECKED_IN: (Flag.Kind.ALREADY_CHECKED_IN, Flag.Severity.HIGH),
}
# Verdicts the invigilator may confirm: a proposal, or a typed student whose face did not
# match (recorded as not verified: the invigilator checked some other way).
CONFIRMABLE = {Outcome.MATCH, Outcome.NOT_VERIFIED}


class KioskRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def accept_burst(*, exam: Exam, user: AbstractBaseUser, jpegs: list[bytes]) -> KioskAttempt:
    """Validate a kiosk burst (as a check-in burst), record a pending attempt, keep the
    pictures in Redis and queue their judging on a worker once the request commits."""
    from invigilation.kiosk.tasks import judge_kiosk_burst  # noqa: PLC0415 - no cycle at import

    if exam.ends_at <= timezone.now():
        raise KioskRefused(409, "This exam has ended: nobody checks in any more.")
    _check_burst(jpegs)
    attempt = KioskAttempt.objects.create(exam=exam, by=user, attempted_at=timezone.now())
    bursts.store(attempt.pk, jpegs)
    transaction.on_commit(lambda: judge_kiosk_burst.apply_async(
        args=[attempt.pk], expires=settings.CHECK_IN_BURST_TTL_SECONDS
    ))  # fmt: skip
    return attempt


def _check_burst(jpegs: list[bytes]) -> None:
    minimum, maximum = settings.CHECK_IN_BURST_MIN_FRAMES, settings.CHECK_IN_BURST_MAX_FRAMES
    if not minimum <= len(jpegs) <= maximum:
        raise KioskRefused(400, f"A burst needs {minimum} to {maximum} frames; {len(jpegs)} sent.")
    if sum(len(jpeg) for jpeg in jpegs) > settings.CHECK_IN_BURST_MAX_BYTES:
        raise KioskRefused(413, "The burst is too large.")
    for number, jpeg in enumerate(jpegs, start=1):
        try:
            check_jpeg(jpeg)  # the check-in's own checks: a whole JPEG, at most 640 px...
        except FrameRefused as exc:
            raise KioskRefused(exc.status, f"Frame {number}: {exc.message}") from exc


def record_verdict(
    attempt: KioskAttempt, *, outcome: str, message: str, session: ExamSession | None = None,
    snapshot: bytes | None = None, **measured: Any,
) -> KioskAttempt:  # fmt: skip
    """The worker's verdict: the attempt is updated, a match gets the seat to take, and an
    alert becomes a flag (on the exam's dashboards once committed)."""
    with transaction.atomic():
        checked_in = session is not None and Attendance.objects.filter(session=session).exists()
        if checked_in and outcome in CONFIRMABLE:
            outcome, message = Outcome.ALREADY_CHECKED_IN, _already(session)
        attempt.outcome, attempt.message, attempt.session = outcome, message[:255], session
        for name, value in measured.items():
            setattr(attempt, name, value)
        if outcome in CONFIRMABLE and session is not None:
            attempt.seat = seat_to_take(session)
        attempt.judged_at = timezone.now()
        if snapshot and not attempt.snapshot:
            attempt.snapshot.save("kiosk.jpg", ContentFile(snapshot), save=False)
        attempt.save()
        if outcome in ALERTS:
            _alert(attempt, snapshot)
    return attempt


def _already(session: ExamSession) -> str:
    attendance = session.attendance
    where = f" at seat {attendance.seat}" if attendance.seat else ""
    when = timezone.localtime(attendance.checked_in_at).strftime("%H:%M")
    return f"{session.student.full_name} already checked in at {when}{where}."


def _alert(attempt: KioskAttempt, snapshot: bytes | None) -> None:
    kind, severity = ALERTS[attempt.outcome]
    evidence = {"phase": "kiosk", "kiosk_attempt": attempt.pk, "method": attempt.method,
                "distance": attempt.distance, "margin": attempt.margin,
                **attempt.evidence}  # fmt: skip
    raise_flag(
        session=attempt.session, exam=attempt.exam, kind=kind, severity=severity,
        message=f"Kiosk: {attempt.message}"[:255], evidence=evidence, snapshot=snapshot,
    )  # fmt: skip


def mark_error(attempt_id: int, message: str) -> None:
    """The worker could not judge the burst: the page is told, rather than waiting on."""
    KioskAttempt.objects.filter(pk=attempt_id, outcome=Outcome.PENDING).update(
        outcome=Outcome.ERROR, message=message[:255], judged_at=timezone.now()
    )


def _open_attempt(attempt: KioskAttempt) -> KioskAttempt:
    """The attempt, locked, while it still awaits a decision."""
    attempt = (
        KioskAttempt.objects.select_for_update(of=("self",))
        .select_related("exam", "session__student")
        .get(pk=attempt.pk)
    )
    if attempt.decision:
        raise KioskRefused(409, f"This candidate was already {attempt.decision}.")
    if attempt.outcome == Outcome.PENDING:
        raise KioskRefused(409, "The burst is still being checked.")
    return attempt


def confirm(*, attempt: KioskAttempt, user: AbstractBaseUser) -> Attendance:
    """The invigilator confirms the proposal: the student is checked in (time, result,
    distance, seat, who confirmed, from the kiosk) and every dashboard hears of it."""
    with transaction.atomic():
        # One confirmation at a time per exam: two kiosks at two doors never give one seat twice.
        Exam.objects.select_for_update().filter(pk=attempt.exam_id).first()
        attempt = _open_attempt(attempt)
        session = attempt.session
        if attempt.outcome not in CONFIRMABLE or session is None:
            raise KioskRefused(409, "Nothing to confirm: type the student's number to check.")
        if Attendance.objects.filter(session=session).exists():
            raise KioskRefused(409, _already(session))
        seat = seat_to_take(session)  # again: a seat proposed a moment ago may be gone
        attendance = check_in(session=session, verified=attempt.verified,
                              distance=attempt.distance)  # fmt: skip
        attendance.seat = seat
        attendance.note = _note(attempt, user)
        attendance.save(update_fields=["seat", "note"])
        _decide(attempt, user, KioskAttempt.Decision.CONFIRMED, seat=seat)
        transaction.on_commit(lambda: push_check_in(attendance=attendance, has_reference=True))
    return attendance


def _note(attempt: KioskAttempt, user: AbstractBaseUser) -> str:
    how = "identified among the enrolled" if attempt.method == attempt.Method.IDENTIFY else (
        "student number typed, face matched" if attempt.verified
        else "student number typed, face did NOT match"
    )  # fmt: skip
    return f"Kiosk: {how}; confirmed by {user.get_username()}"[:255]


def reject(*, attempt: KioskAttempt, user: AbstractBaseUser) -> KioskAttempt:
    with transaction.atomic():
        attempt = _open_attempt(attempt)
        _decide(attempt, user, KioskAttempt.Decision.REJECTED)
    return attempt


def _decide(attempt: KioskAttempt, user: AbstractBaseUser, decision: str, seat: str = "") -> None:
    attempt.decision, attempt.decided_by, attempt.decided_at = decision, user, timezone.now()
    attempt.seat = seat or attempt.seat
    if not (decision == KioskAttempt.Decision.CONFIRMED and attempt.verified):
        # Only a confirmed face that matched the student is kept: the hall cameras' freshest
        # reference for them (rooms.room_processing.room_people); deleted with the exam's data.
        attempt.embeddings = None
    attempt.save(update_fields=["decision", "decided_by", "decided_at", "seat", "embeddings"])


def override(*, attempt: KioskAttempt, user: AbstractBaseUser, number: str) -> KioskAttempt:
    """The invigilator types the candidate's student number: the burst's faces are checked
    against that student's references alone (1:1, on a worker). The first attempt is closed
    as rejected; the new one is polled like any other."""
    from invigilation.kiosk.tasks import verify_kiosk_override  # noqa: PLC0415 - no cycle

    with transaction.atomic():
        attempt = _open_attempt(attempt)
        if attempt.embeddings is None:
            raise KioskRefused(409, "No usable face in this burst: capture again.")
        typed = KioskAttempt(
            exam=attempt.exam, by=user, method=KioskAttempt.Method.VERIFY,
            typed_number=number.strip()[:64], attempted_at=timezone.now(),
            embeddings=attempt.embeddings, snapshot=attempt.snapshot.name,
            evidence={"overrides": attempt.pk},
        )  # fmt: skip
        typed.session = session_by_number(attempt.exam, number)
        typed.save()
        _decide(attempt, user, KioskAttempt.Decision.REJECTED)
        if typed.session is None:
            return record_verdict(
                typed,
                outcome=Outcome.NOT_ENROLLED,
                message=f"{typed.typed_number} is not enrolled in this exam.",
            )
        transaction.on_commit(lambda: verify_kiosk_override.apply_async(
            args=[typed.pk], expires=settings.CHECK_IN_BURST_TTL_SECONDS
        ))  # fmt: skip
    return typed
