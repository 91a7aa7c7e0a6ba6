"""The identity check at the start of a session: a burst of frames, judged on a worker."""

from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from invigilation.exams.models import ExamSession
from invigilation.exams.services import check_in
from invigilation.proctoring import frame_processing
from invigilation.proctoring.models import CheckInAttempt, Flag
from invigilation.proctoring.services import push_check_in, raise_flag
from invigilation.students import embeddings
from invigilation.students.services import self_enrol
from invigilation.vision import check_in_assessment
from invigilation.vision.check_in_assessment import Assessment

Outcome = CheckInAttempt.Outcome
KEEP_OPEN = "Monitoring has started: keep this page open, and press Finish when you are done."


@dataclass(frozen=True)
class CheckInVerdict:
    outcome: str
    verified: bool | None  # None: nothing was compared (no reference photo, identity off)
    message: str  # what the student is told, in plain words
    retry: bool  # the student should try again (a picture problem, or no live face yet)
    attempts_left: int

    def as_json(self) -> dict:
        return {
            "outcome": self.outcome,
            "verified": self.verified,
            "message": self.message,
            "retry": self.retry,
            "attempts_left": self.attempts_left,
        }


def check_in_from_burst(
    *, session_id: int, jpegs: list[bytes], captured_at: list[float]
) -> CheckInVerdict:
    """Judge a check-in burst (liveness, identity), record the attempt and its anchor,
    check the student in, and tell the dashboards. Runs on a worker."""
    session = ExamSession.objects.select_related("exam", "student").get(pk=session_id)
    exam = session.exam
    if session.status == ExamSession.Status.FINISHED:
        return CheckInVerdict(Outcome.UNUSABLE, None, "You have finished this exam.", False, 0)
    enrolment = frame_processing.enrolment_for(session) if exam.check_identity else None
    assessment = check_in_assessment.assess_check_in(
        jpegs, enrolment=enrolment, check_liveness=exam.check_liveness
    )
    if len(captured_at) > 1:
        assessment.evidence["burst_seconds"] = round((captured_at[-1] - captured_at[0]) / 1000, 2)
    allowed = frame_processing.rule_settings(exam).check_in_attempts
    failed = session.check_ins.filter(outcome=Outcome.LIVENESS_FAILED).count()
    if assessment.outcome == Outcome.UNUSABLE:
        _record(session, assessment, jpegs, assessment.problem)
        return CheckInVerdict(Outcome.UNUSABLE, None, assessment.problem, True, allowed - failed)
    if assessment.outcome == Outcome.LIVENESS_FAILED:
        return _liveness_failed(session, assessment, jpegs, attempts_left=allowed - failed - 1)
    return _checked_in(session, assessment, jpegs, attempts_left=allowed - failed)


def _liveness_failed(
    session: ExamSession, assessment: Assessment, jpegs: list[bytes], attempts_left: int
) -> CheckInVerdict:
    if attempts_left > 0:
        # The page shows the attempts left beside it.
        message = f"We could not see a live face. {assessment.problem}."
        _record(session, assessment, jpegs, message)
        return CheckInVerdict(Outcome.LIVENESS_FAILED, None, message, True, attempts_left)
    message = (
        "We could not see a live face, so your invigilator will check your identity. "
        f"The exam continues. {KEEP_OPEN}"
    )
    with transaction.atomic():
        attempt = _record(session, assessment, jpegs, message)
        attendance = check_in(session=session, verified=False, distance=assessment.distance)
        attendance.note = "No live face at check-in"
        attendance.save(update_fields=["note"])
        raise_flag(
            session=session, kind=Flag.Kind.LIVENESS_FAILED, severity=Flag.Severity.MEDIUM,
            confidence=1.0, message="No live face in any check-in attempt (a photo or a screen?)",
            evidence={"phase": "check_in", "attempt": attempt.pk, **assessment.evidence},
            snapshot=_best_jpeg(assessment, jpegs),
        )  # fmt: skip
        transaction.on_commit(lambda: push_check_in(attendance=attendance, has_reference=True))
    return CheckInVerdict(Outcome.LIVENESS_FAILED, False, message, False, 0)


def _checked_in(
    session: ExamSession, assessment: Assessment, jpegs: list[bytes], attempts_left: int
) -> CheckInVerdict:
    exam = session.exam
    outcome = assessment.outcome
    enrolled_now = (
        outcome == Outcome.NO_REFERENCE and exam.check_identity and exam.self_enrol
    )  # fmt: skip
    verified = {Outcome.VERIFIED: True, Outcome.NOT_VERIFIED: False}.get(outcome)
    message = _message(session, outcome, enrolled_now)
    with transaction.atomic():
        # A verified burst (or one that just became the reference) is the session's anchor.
        anchored = outcome == Outcome.VERIFIED or enrolled_now
        _record(session, assessment, jpegs, message, anchor=anchored)
        photo_url = None
        if enrolled_now:
            photo = self_enrol(
                student=session.student, jpeg=_best_jpeg(assessment, jpegs),
                embedding=embeddings.to_bytes(assessment.embeddings.mean(axis=0)),
            )  # fmt: skip
            photo_url = reverse("students:photo", args=[photo.pk])
        attendance = check_in(session=session, verified=verified, distance=assessment.distance)
        has_reference = outcome != Outcome.NO_REFERENCE or enrolled_now
        transaction.on_commit(lambda: push_check_in(
            attendance=attendance, has_reference=has_reference, reference_photo_url=photo_url
        ))  # fmt: skip
    return CheckInVerdict(outcome, verified, message, outcome == Outcome.NOT_VERIFIED,
                          attempts_left)  # fmt: skip


def _message(session: ExamSession, outcome: str, enrolled_now: bool) -> str:
    if not session.exam.check_identity:
        return f"This exam does not check identity by photo. {KEEP_OPEN}"
    if enrolled_now:
        return (
            "This check-in is now your reference photo; an invigilator will confirm it. "
            + KEEP_OPEN
        )
    if outcome == Outcome.NO_REFERENCE:
        return f"No reference photo: your invigilator will check your identity. {KEEP_OPEN}"
    if outcome == Outcome.VERIFIED:
        return f"Identity checked: you match your enrolment photo. {KEEP_OPEN}"
    return (
        "Your face did not match your enrolment photo. Your invigilator will check; the exam "
        "continues. If the light or framing was poor, fix it and retry the identity check."
    )


def _record(
    session: ExamSession, assessment: Assessment, jpegs: list[bytes], message: str,
    anchor: bool = False,
) -> CheckInAttempt:  # fmt: skip
    attempt = CheckInAttempt(
        session=session,
        attempted_at=timezone.now(),
        outcome=assessment.outcome,
        message=message[:255],
        distance=assessment.distance,
        evidence=assessment.evidence,
        anchor=embeddings.to_bytes(assessment.embeddings) if anchor else None,
    )
    snapshot = _best_jpeg(assessment, jpegs)
    if snapshot:
        attempt.snapshot.save("check-in.jpg", ContentFile(snapshot), save=False)
    attempt.save()
    return attempt


def _best_jpeg(assessment: Assessment, jpegs: list[bytes]) -> bytes | None:
    index = assessment.best_frame
    return jpegs[index] if index is not None else None
