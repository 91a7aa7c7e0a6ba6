"""Writes to flags, and the push of each new flag to the exam's live dashboards."""

from datetime import datetime
from typing import Any

from channels.layers import get_channel_layer
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from invigilation.core import async_bridge
from invigilation.exams.models import Attendance, Exam, ExamSession
from invigilation.proctoring.groups import exam_group
from invigilation.proctoring.models import CheckInAttempt, Flag, FlagReview


def raise_flag(
    *,
    session: ExamSession | None = None,
    exam: Exam | None = None,
    kind: str,
    severity: int = Flag.Severity.MEDIUM,
    confidence: float = 1.0,
    message: str = "",
    evidence: dict[str, Any] | None = None,
    raised_at: datetime | None = None,
    snapshot: bytes | None = None,
    thumbnail: bytes | None = None,
) -> Flag:
    """A flag on a student's session, or on the exam alone (`exam`; a room's alert about no
    enrolled student): `snapshot` is the face, `thumbnail` a room camera's whole frame."""
    if session is None and exam is None:
        raise ValueError("A flag belongs to a session or to an exam.")
    flag = Flag(
        exam_id=exam.pk if exam is not None else session.exam_id,
        session=session,
        kind=kind,
        severity=severity,
        confidence=confidence,
        message=message,
        evidence=evidence or {},
        raised_at=raised_at or timezone.now(),
    )
    if snapshot:
        flag.snapshot.save("snapshot.jpg", ContentFile(snapshot), save=False)
    if thumbnail:
        flag.thumbnail.save("thumbnail.jpg", ContentFile(thumbnail), save=False)
    flag.save()
    # Only committed flags are announced; the dashboard re-reads them over REST anyway.
    transaction.on_commit(lambda: push_flag(flag=flag))
    return flag


def flag_event(flag: Flag) -> dict[str, Any]:
    student = flag.session.student if flag.session_id else None
    return {
        "id": flag.pk,
        "session": flag.session_id,  # None: the room's alert about no enrolled student
        "student_number": student.student_number if student else None,
        "student_name": student.full_name if student else None,
        "kind": flag.kind,
        "kind_label": flag.get_kind_display(),
        "severity": flag.severity,
        "confidence": flag.confidence,
        "message": flag.message,
        "raised_at": flag.raised_at.isoformat(),
        "review_state": flag.review_state,
        "has_snapshot": bool(flag.snapshot),
        "has_thumbnail": bool(flag.thumbnail),
        "evidence": flag.evidence,  # an identity flag's distance and probability, for review
    }


def push_flag(*, flag: Flag) -> None:
    push_event(exam_id=flag.exam_id, event={"type": "flag.raised", "flag": flag_event(flag)})


REVIEW_STATES = {Flag.Review.CONFIRMED, Flag.Review.DISMISSED, Flag.Review.ESCALATED}


class ReviewRefused(ValueError):
    pass


@transaction.atomic
def review_flag(*, flag: Flag, reviewer: AbstractBaseUser, state: str, note: str) -> FlagReview:
    """Record a decision with its reason; earlier decisions stay in the audit trail."""
    if state not in REVIEW_STATES:
        raise ReviewRefused(f"A review confirms, dismisses or escalates, not {state!r}.")
    if not note.strip():
        raise ReviewRefused("Say why: a review needs a note.")
    review = FlagReview.objects.create(flag=flag, state=state, note=note.strip(), reviewer=reviewer)
    flag.review_state, flag.reviewed_by, flag.reviewed_at = state, reviewer, review.reviewed_at
    flag.review_note = review.note
    flag.save(update_fields=["review_state", "reviewed_by", "reviewed_at", "review_note"])
    transaction.on_commit(lambda: push_event(
        exam_id=flag.exam_id, event={"type": "flag.reviewed", "flag": flag_event(flag)}
    ))  # fmt: skip
    return review


def push_check_in(
    *, attendance: Attendance, has_reference: bool, reference_photo_url: str | None = None
) -> None:
    """The identity check's result, live on the dashboards (not only after a reload); with
    `reference_photo_url` when the check-in just became the student's unconfirmed reference."""
    check_in = {
        "session": attendance.session_id,
        "checked_in_at": attendance.checked_in_at.isoformat(),
        "verified": attendance.verified,
        "distance": attendance.verification_distance,
        "seat": attendance.seat,  # given at an exam room's kiosk; blank online
        "has_reference": has_reference,
    }
    if reference_photo_url:
        check_in |= {"reference_photo_url": reference_photo_url, "reference_unconfirmed": True}
    push_event(exam_id=attendance.session.exam_id,
               event={"type": "session.checked_in", "check_in": check_in})  # fmt: skip


def push_reference(*, session: ExamSession, photo_url: str | None, unconfirmed: bool) -> None:
    """A self-enrolled reference photo approved (`unconfirmed` False) or rejected (no photo
    left): every dashboard of the exam updates the student's card."""
    reference = {"session": session.pk, "photo_url": photo_url, "unconfirmed": unconfirmed}
    push_event(exam_id=session.exam_id, event={"type": "session.reference", "reference": reference})


def push_finished(*, session: ExamSession) -> None:
    finished = {"session": session.pk, "finished_at": session.finished_at.isoformat()}
    push_event(exam_id=session.exam_id, event={"type": "session.finished", "session": finished})


def push_event(*, exam_id: int, event: dict[str, Any]) -> None:
    async_bridge.run(get_channel_layer().group_send(exam_group(exam_id), event))


def forget_anchor(*, session: ExamSession) -> int:
    """The session's check-in faces stop being its reference (an invigilator rejected the
    self-enrolled photo they came with: the face is not known to be the student's)."""
    return CheckInAttempt.objects.filter(session=session, anchor__isnull=False).update(anchor=None)
