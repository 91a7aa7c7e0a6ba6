"""Reads for the kiosk: the exam's roster of reference faces, the seat a student takes, an
attempt as the page shows it, and the running count. Staff access is checked by the views
(`exams.selectors`); these read one exam."""

from typing import Any

import numpy as np
from django.urls import reverse

from invigilation.exams.models import Attendance, Exam, ExamSession
from invigilation.exams.seating import seat_for
from invigilation.kiosk.models import KioskAttempt
from invigilation.students import embeddings
from invigilation.students.models import EnrolmentPhoto


def roster_of(exam: Exam) -> dict[str, list[np.ndarray]]:
    """Student number -> the stored face embeddings of every enrolled student with one."""
    photos = EnrolmentPhoto.objects.usable().filter(student__sessions__exam=exam)
    roster: dict[str, list[np.ndarray]] = {}
    for number, raw in photos.values_list("student__student_number", "embedding"):
        roster.setdefault(number, []).extend(embeddings.from_bytes(raw))
    return roster


def seat_to_take(session: ExamSession) -> str:
    """The student's pre-assigned seat, else the next free one in order ("" without a plan
    or with the room full). Seats taken and seats pre-assigned to others are skipped."""
    exam = session.exam
    taken = Attendance.objects.filter(session__exam=exam).exclude(seat="")
    reserved = (
        ExamSession.objects.filter(exam=exam).exclude(pk=session.pk).exclude(assigned_seat="")
    )
    seat = seat_for(
        exam.seat_plan,
        assigned=session.assigned_seat,
        taken=taken.values_list("seat", flat=True),
        reserved=reserved.values_list("assigned_seat", flat=True),
    )
    return seat or ""


def session_by_number(exam: Exam, number: str) -> ExamSession | None:
    return (
        ExamSession.objects.select_related("exam", "student")
        .filter(exam=exam, student__student_number__iexact=number.strip())
        .first()
    )


def photo_url(session: ExamSession) -> str | None:
    """The student's reference photo, through the permission-checked photo view."""
    photo = EnrolmentPhoto.objects.usable().filter(student_id=session.student_id).first()
    return reverse("students:photo", args=[photo.pk]) if photo else None


def counts(exam: Exam) -> dict[str, int]:
    return {
        "checked_in": Attendance.objects.filter(session__exam=exam).count(),
        "expected": exam.sessions.count(),
    }


def attempt_view(attempt: KioskAttempt) -> dict[str, Any]:
    """What the kiosk page shows for an attempt (the poll's answer)."""
    session = attempt.session
    student = None
    if session is not None:
        student = {
            "session": session.pk,
            "number": session.student.student_number,
            "name": session.student.full_name,
            "photo_url": photo_url(session),
        }
    return {
        "id": attempt.pk,
        "status": "pending" if attempt.outcome == KioskAttempt.Outcome.PENDING else "done",
        "method": attempt.method,
        "outcome": attempt.outcome,
        "outcome_label": attempt.get_outcome_display(),
        "message": attempt.message,
        "student": student,
        "verified": attempt.verified,
        "distance": attempt.distance,
        "margin": attempt.margin,
        "seat": attempt.seat,
        "decision": attempt.decision,
        "judge_ms": attempt.judge_ms,
        "counts": counts(attempt.exam),
    }
