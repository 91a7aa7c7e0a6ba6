"""From a waiting frame to a stored frame record and, when a rule fires, a flag."""

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import cv2
import numpy as np
from django.conf import settings
from django.db import transaction

from invigilation import vision
from invigilation.decisions.rules import FrameResult, RuleEvent, RuleSettings, SessionRules
from invigilation.exams import services as exams_services
from invigilation.exams.models import Exam, ExamSession
from invigilation.proctoring import frames
from invigilation.proctoring.models import CheckInAttempt, Flag, FrameRecord
from invigilation.proctoring.selectors import top_expression
from invigilation.proctoring.services import push_event, push_finished, raise_flag
from invigilation.students import embeddings
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.vision import frame_observation
from invigilation.vision.frame_observation import References
from invigilation.vision.timing import StageTimer

RULES_STATE_TTL = 24 * 3600


def process_latest_frame(
    *, session_id: int, claim: str | None = None, timer: StageTimer | None = None
) -> FrameRecord | None:
    """Analyse the session's waiting frame; `timer` collects the stages outside vision
    (fetch, rules, persist, flag, push), whose own timings go in the record's timings_ms.

    `claim` is the task's id: delivered again after its worker died, the task gets the same
    frame back, and a frame already stored is not stored (or flagged) twice."""
    timer = timer or StageTimer()
    claim = claim or uuid.uuid4().hex
    with timer.stage("fetch"):
        session = ExamSession.objects.select_related("exam", "student").get(pk=session_id)
        pending = frames.take_latest(session, claim)
        if pending is None:
            return None  # expired: a newer frame will come
    with _counted_if_lost(session, claim):
        with timer.stage("fetch"):
            checks = _checks(session.exam, *frames.next_frame(session))
            # The references are only compared with on identity checks.
            references = references_for(session) if checks.identity else References()
        try:
            result = frame_observation.analyse(pending.jpeg, references, checks)
        except vision.InvalidImage:
            # Ingestion checked the header; a body that still fails is lost, and counted.
            frames.count_failure(session)
            frames.release(session, claim)
            return None
        observed = frame_observation.frame_result(result, pending.received_at, references)
        with timer.stage("persist"), frames.session_lock(session):
            session.refresh_from_db(fields=["status"])
            if session.status == ExamSession.Status.FINISHED:
                # Sent before the student pressed Finish: nothing is flagged after it.
                frames.count_drop(session)
                frames.release(session, claim)
                return None
            with session_rules_state(session) as rules, transaction.atomic():
                if FrameRecord.objects.filter(session=session, frame_id=pending.frame_id).exists():
                    return None  # stored by an earlier delivery whose worker died before the ack
                record = _record(session, pending.frame_id, observed, result.timings_ms)
                with timer.stage("rules"):
                    events = rules.observe(observed)
                for event in events:
                    with timer.stage("flag"):
                        _flag(session, event, pending.jpeg, result)
                transaction.on_commit(lambda: _push_status(record, timer))
    frames.release(session, claim)  # on the other ways out it expires with the frame's TTL
    return record


@contextmanager
def session_rules_state(session: ExamSession) -> Iterator[SessionRules]:
    """The session's rules with their state, saved back when the block ends without an
    error: a worker dying before its commit leaves the rules as they were, so the frame's
    next delivery is observed once, not twice. A session that has sent no frame yet has
    nothing to keep (the stopped-stream timer looks at every running session)."""
    rules = session_rules(session.exam, frames.rules_state(session))
    yield rules
    if rules.last_frame_at is not None:
        frames.save_rules_state(session, rules.state(), RULES_STATE_TTL)


@contextmanager
def _counted_if_lost(session: ExamSession, claim: str) -> Iterator[None]:
    """A frame taken and then lost to an error (a crash in the analysis, the database
    failing, the session's lock not taken) is counted as failed: its task fails and is not
    run again, and the frame would otherwise be in neither the analysed nor dropped count."""
    try:
        yield
    except Exception:
        frames.count_failure(session)
        frames.release(session, claim)
        raise


def _push_status(record: FrameRecord, timer: StageTimer) -> None:
    with timer.stage("push"):
        event = {"type": "session.status", "status": session_status(record)}
        push_event(exam_id=record.session.exam_id, event=event)


def session_status(record: FrameRecord) -> dict:
    """What the live grid shows of a student after a frame."""
    return {
        "session": record.session_id,
        "at": record.captured_at.isoformat(),
        "face_count": record.face_count,
        "identity_match": record.identity_match,
        "expression": top_expression(record.expression),
    }


def references_for(session: ExamSession) -> References:
    return References(
        enrolment=enrolment_for(session),
        anchor=anchor_for(session),
        roster=lambda: roster_for(session),
    )


def enrolment_for(session: ExamSession) -> vision.Enrolment | None:
    return _enrolment(session.student_id)


def _enrolment(student_id: int) -> vision.Enrolment | None:
    stored = EnrolmentPhoto.objects.filter(
        student_id=student_id, embedding__isnull=False
    ).values_list("embedding", flat=True)
    vectors = [embeddings.from_bytes(raw) for raw in stored]
    return vision.Enrolment(np.concatenate(vectors)) if vectors else None


def anchor_for(session: ExamSession) -> np.ndarray | None:
    """The faces of the session's latest verified check-in: its own reference."""
    raw = (
        CheckInAttempt.objects.filter(session=session, anchor__isnull=False)
        .order_by("-attempted_at")
        .values_list("anchor", flat=True)
        .first()
    )
    return embeddings.from_bytes(raw) if raw else None


def roster_label(student: Student) -> str:
    return f"{student.student_number} {student.full_name}"


def roster_for(session: ExamSession) -> dict[str, np.ndarray]:
    """The enrolment embeddings of every other student enrolled in the exam, by label."""
    stored = (
        EnrolmentPhoto.objects.filter(
            student__sessions__exam_id=session.exam_id, embedding__isnull=False
        )
        .exclude(student_id=session.student_id)
        .select_related("student")
    )
    roster: dict[str, list[np.ndarray]] = {}
    for photo in stored:
        roster.setdefault(roster_label(photo.student), []).append(
            embeddings.from_bytes(photo.embedding)
        )
    return {label: np.concatenate(vectors) for label, vectors in roster.items()}


def _checks(exam: Exam, index: int, rules_state: dict | None) -> vision.Checks:
    """The exam's checks for the stream's `index`-th frame; identity as the rules' schedule
    says (their state read without the lock: a stale one only moves one check)."""
    base = checks_for(exam)
    rules = session_rules(exam, rules_state)
    due = rules.identity_due(index, every=settings.IDENTITY_CHECK_EVERY,
                             every_clear=settings.IDENTITY_CHECK_EVERY_CLEAR)  # fmt: skip
    return base.with_identity(due)


def checks_for(exam: Exam) -> vision.Checks:
    return vision.Checks(
        identity=exam.check_identity,
        expression=exam.check_expression and settings.EXPRESSION_ANALYSIS_ENABLED,
        gaze=exam.check_gaze,
        quality=True,
    )


def session_rules(exam: Exam, state: dict | None) -> SessionRules:
    return SessionRules(rule_settings(exam), state, frame_interval=1 / exam.sampling_fps)


def rule_settings(exam: Exam) -> RuleSettings:
    switches = {
        "presence": exam.check_presence,
        "multiple_faces": exam.check_multiple_faces,
        "identity": exam.check_identity,
        "gaze": exam.check_gaze,
        "expression": exam.check_expression and settings.EXPRESSION_ANALYSIS_ENABLED,
        "liveness": exam.check_liveness,
    }
    return dataclasses.replace(RuleSettings(**exam.rule_thresholds), **switches)


def _record(
    session: ExamSession, frame_id: str, observed: FrameResult, timings_ms: dict
) -> FrameRecord:
    return FrameRecord.objects.create(
        session=session,
        frame_id=frame_id,
        captured_at=dt.datetime.fromtimestamp(observed.at, tz=dt.UTC),
        face_count=observed.face_count,
        identity_match=observed.identity_match,
        identity_distance=observed.identity_distance,
        anchor_distance=observed.anchor_distance,
        yaw=observed.yaw,
        pitch=observed.pitch,
        expression=observed.expression,
        brightness=observed.brightness,
        sharpness=observed.sharpness,
        timings_ms=timings_ms,
    )


def _flag(session: ExamSession, event: RuleEvent, jpeg: bytes | None, result) -> Flag:
    evidence = dict(event.measurements)
    if evidence.get("matches"):
        evidence["matches"] = _roster_student(session, evidence["matches"])
    return raise_flag(
        session=session,
        kind=event.kind,
        severity=event.severity,
        confidence=event.confidence,
        message=event.message[:255],
        evidence=evidence,
        raised_at=dt.datetime.fromtimestamp(event.at, tz=dt.UTC),
        snapshot=(
            annotated_snapshot(jpeg, result, suspect=event.kind == Flag.Kind.IDENTITY_MISMATCH)
            if jpeg
            else None
        ),
    )


def _roster_student(session: ExamSession, label: str) -> dict:
    """Who the roster label the rules matched names: for the flag's evidence and review."""
    others = ExamSession.objects.filter(exam_id=session.exam_id).select_related("student")
    for other in others:
        if roster_label(other.student) == label:
            student = other.student
            return {"session": other.pk, "student_number": student.student_number,
                    "name": student.full_name}  # fmt: skip
    return {"label": label}  # the student left the exam since: the label is all there is


def annotated_snapshot(jpeg: bytes, result: vision.FrameAnalysis, suspect: bool = False) -> bytes:
    """The frame with each face boxed: green for the enrolled student, red otherwise
    (`suspect`: an identity flag, judged over the session, not by this frame's photo match)."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    for face in result.faces:
        mismatch = suspect or (face.identity is not None and not face.identity.is_match)
        colour = (40, 40, 220) if mismatch or result.face_count > 1 else (60, 180, 60)
        left, top, right, bottom = face.box
        cv2.rectangle(image, (left, top), (right, bottom), colour, 2)
        if face.identity is not None:
            label = f"{face.identity.distance:.2f}"
            cv2.putText(image, label, (left, max(12, top - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                        colour, 1, cv2.LINE_AA)  # fmt: skip
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def finish_ended_sessions(*, now: float) -> list[ExamSession]:
    """At the exam's end, sessions still in progress are finished (never flagged as stopped)."""
    ended = exams_services.finish_ended_sessions(now=dt.datetime.fromtimestamp(now, tz=dt.UTC))
    for session in ended:
        push_finished(session=session)
    return ended


def flag_stopped_streams(*, now: float) -> list[Flag]:
    """Flag running sessions whose frames stopped arriving (the browser closed, say)."""
    current = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    running = ExamSession.objects.filter(
        status=ExamSession.Status.IN_PROGRESS, exam__starts_at__lte=current,
        exam__ends_at__gte=current,
    ).select_related("exam", "student")  # fmt: skip
    flags = []
    for session in running:
        # Under the lock that Finish also takes: a student who has just finished is not flagged.
        with frames.session_lock(session):
            session.refresh_from_db(fields=["status"])
            if session.status == ExamSession.Status.FINISHED:
                continue
            with session_rules_state(session) as rules:
                event = rules.check_stream(now)
            if event:
                flags.append(_flag(session, event, None, None))
    return flags
