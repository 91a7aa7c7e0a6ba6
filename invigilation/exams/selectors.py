"""Reads scoped to what a staff user may see: admins everything, invigilators their exams."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from invigilation.accounts.roles import is_exam_admin, is_invigilator
from invigilation.exams.models import Attendance, Exam, ExamSession

User = AbstractBaseUser | AnonymousUser


def exams_visible_to(*, user: User) -> QuerySet[Exam]:
    if is_exam_admin(user):
        return Exam.objects.all()
    if is_invigilator(user):
        return Exam.objects.filter(assignments__user=user)
    return Exam.objects.none()


def exam_overview(*, user: User) -> QuerySet[Exam]:
    """Visible exams with the counts an exam list shows."""
    return exams_visible_to(user=user).annotate(
        student_count=Count("sessions", distinct=True),
        checked_in_count=Count("sessions__attendance", distinct=True),
        open_flag_count=Count(
            "sessions__flags", filter=Q(sessions__flags__review_state="open"), distinct=True
        ),
    )


def sessions_visible_to(*, user: User) -> QuerySet[ExamSession]:
    return ExamSession.objects.filter(exam__in=exams_visible_to(user=user)).select_related(
        "exam", "student"
    )


def attendance_visible_to(*, user: User) -> QuerySet[Attendance]:
    return Attendance.objects.filter(session__in=sessions_visible_to(user=user))


def can_watch_exam(*, user: User, exam_id: int) -> bool:
    return exams_visible_to(user=user).filter(pk=exam_id).exists()


def visible_exam_or_404(*, user: User, exam_id: int) -> Exam:
    """404, not 403: a user learns nothing about exams that are not theirs."""
    exam = exams_visible_to(user=user).filter(pk=exam_id).first()
    if exam is None:
        raise Http404("No such exam.")
    return exam


def session_for_token(token: str) -> ExamSession | None:
    """The exam session a token opens, while its exam has not ended."""
    if not token:
        return None
    session = ExamSession.objects.select_related("exam", "student").filter(token=token).first()
    if session is None or session.exam.ends_at <= timezone.now():
        return None
    return session
