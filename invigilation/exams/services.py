"""Writes to exams, invigilator assignments, exam sessions and attendance."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils import timezone

from invigilation.accounts.roles import INVIGILATOR_GROUP
from invigilation.exams.models import Attendance, Exam, ExamSession, InvigilatorAssignment
from invigilation.students.models import Student


@transaction.atomic
def assign_invigilator(*, exam: Exam, user: AbstractBaseUser) -> InvigilatorAssignment:
    """Let the user watch the exam; joins the Invigilators group if not yet a member."""
    user.groups.add(Group.objects.get(name=INVIGILATOR_GROUP))
    assignment, _ = InvigilatorAssignment.objects.get_or_create(exam=exam, user=user)
    return assignment


def enrol_students(*, exam: Exam, students: Iterable[Student]) -> list[ExamSession]:
    """One exam session per student; students already enrolled keep theirs (and its token)."""
    sessions = [ExamSession(exam=exam, student=student) for student in students]
    ExamSession.objects.bulk_create(sessions, ignore_conflicts=True)
    return list(ExamSession.objects.filter(exam=exam).select_related("student"))


@transaction.atomic
def check_in(
    *, session: ExamSession, verified: bool | None, distance: float | None = None
) -> Attendance:
    """Mark the student present; the first check-in time is kept, the result refreshed."""
    now = timezone.now()
    attendance, created = Attendance.objects.get_or_create(
        session=session,
        defaults={"checked_in_at": now, "verified": verified, "verification_distance": distance},
    )
    if not created:
        attendance.verified = verified
        attendance.verification_distance = distance
        attendance.save(update_fields=["verified", "verification_distance"])
    if session.status == ExamSession.Status.SCHEDULED:
        session.status = ExamSession.Status.IN_PROGRESS
        session.started_at = now
        session.save(update_fields=["status", "started_at"])
    return attendance


def finish_session(*, session: ExamSession, at: datetime | None = None) -> bool:
    """Mark the session finished (the student pressed Finish, or the exam ended); False
    when it already was. Nothing is monitored or flagged after this."""
    finished = (
        ExamSession.objects.filter(pk=session.pk)
        .exclude(status=ExamSession.Status.FINISHED)
        .update(status=ExamSession.Status.FINISHED, finished_at=at or timezone.now())
    )
    session.refresh_from_db(fields=["status", "finished_at"])
    return bool(finished)


def finish_ended_sessions(*, now: datetime) -> list[ExamSession]:
    """Finish, at their exam's end time, the sessions still in progress after it."""
    ended = list(
        ExamSession.objects.filter(
            status=ExamSession.Status.IN_PROGRESS, exam__ends_at__lte=now
        ).select_related("exam")
    )
    return [s for s in ended if finish_session(session=s, at=s.exam.ends_at)]
