"""The kiosk's verdicts, on a worker (imported inside the Celery tasks only: it loads the
face models). A burst is judged as an online check-in's (one lit face, a live face:
`vision.check_in_assessment`), then its face is identified among the exam's enrolled
students (1:N, open set: `vision.hall.identify`), or, on an override, checked against the
typed student alone (1:1: `vision.verify`)."""

import time

import numpy as np

from invigilation import vision
from invigilation.decisions import identity
from invigilation.exams.models import ExamSession
from invigilation.kiosk import services
from invigilation.kiosk.identification import identify_burst, probe_of
from invigilation.kiosk.models import KioskAttempt
from invigilation.kiosk.selectors import roster_of
from invigilation.proctoring import frame_processing
from invigilation.students import embeddings
from invigilation.vision import check_in_assessment, hall
from invigilation.vision.check_in_assessment import Assessment

Outcome = KioskAttempt.Outcome


def judge_burst(attempt_id: int, jpegs: list[bytes]) -> KioskAttempt:
    """Liveness and the face, then who it is among the exam's enrolled students."""
    started = time.perf_counter()
    attempt = KioskAttempt.objects.select_related("exam").get(pk=attempt_id)
    exam = attempt.exam
    judged = identify_burst(jpegs, roster_of(exam), check_liveness=exam.check_liveness)
    assessment, found = judged.assessment, judged.found
    evidence = dict(assessment.evidence)
    if found is None:
        return services.record_verdict(
            attempt, outcome=Outcome.UNUSABLE, message=assessment.problem, evidence=evidence,
            judge_ms=_ms(started),
        )  # fmt: skip
    snapshot = jpegs[assessment.best_frame] if assessment.best_frame is not None else None
    session = _session(exam.pk, found.student)
    evidence["identification"] = {"nearest": found.nearest, "ambiguous": found.ambiguous,
                                  "distance": _finite(found.distance)}  # fmt: skip
    outcome, message = _identified(assessment, found, session)
    return services.record_verdict(
        attempt, outcome=outcome, message=message, session=session, snapshot=snapshot,
        verified=True if outcome == Outcome.MATCH else None, distance=_finite(found.distance),
        margin=_finite(found.margin), evidence=evidence,
        embeddings=embeddings.to_bytes(assessment.embeddings), judge_ms=_ms(started),
    )  # fmt: skip


def _identified(
    assessment: Assessment, found: hall.Identification, session: ExamSession | None
) -> tuple[str, str]:
    if assessment.outcome == check_in_assessment.LIVENESS_FAILED:
        who = f" ({session.student.full_name}?)" if session else ""
        return Outcome.LIVENESS_FAILED, f"No live face{who}: {assessment.problem}."
    if session is not None:
        return Outcome.MATCH, f"{session.student.full_name}: confirm with Enter."
    if found.nearest is None:
        return Outcome.NO_MATCH, "No enrolled student of this exam has a reference photo."
    if found.ambiguous:
        return Outcome.NO_MATCH, "Two enrolled students look alike: type the student number."
    return Outcome.NOT_ENROLLED, "Not enrolled in this exam (no enrolled student matches)."


def _session(exam_id: int, number: str | None) -> ExamSession | None:
    if number is None:
        return None
    return ExamSession.objects.select_related("exam", "student").get(
        exam_id=exam_id, student__student_number=number
    )


def verify_override(attempt_id: int) -> KioskAttempt:
    """The burst's face against the typed student's references only (1:1)."""
    started = time.perf_counter()
    attempt = KioskAttempt.objects.select_related("exam", "session__student").get(pk=attempt_id)
    session = attempt.session
    enrolment = frame_processing.enrolment_for(session)
    name = session.student.full_name
    if enrolment is None:
        return services.record_verdict(
            attempt, outcome=Outcome.NOT_VERIFIED, session=session, verified=None,
            message=f"{name} has no reference photo: check the ID card, then confirm.",
            judge_ms=_ms(started),
        )  # fmt: skip
    probe = probe_of(embeddings.from_bytes(attempt.embeddings))
    match = vision.verify(probe, enrolment)
    matched = match.distance < identity.PHOTO_THRESHOLD
    message = (
        f"{name}: the face matches. Confirm with Enter."
        if matched
        else f"{name}: the face does NOT match the reference photo. Check the ID card."
    )
    return services.record_verdict(
        attempt, outcome=Outcome.MATCH if matched else Outcome.NOT_VERIFIED, session=session,
        message=message, verified=matched, distance=match.distance, judge_ms=_ms(started),
    )  # fmt: skip


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _ms(started: float) -> float:
    return round(1000 * (time.perf_counter() - started), 1)
