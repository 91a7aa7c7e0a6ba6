"""Reads for getting capture links to students."""

from django.conf import settings
from django.db.models import Count, QuerySet
from django.urls import reverse

from invigilation.exams.models import Exam, ExamSession
from invigilation.invitations.models import Invitation


def capture_url(*, session: ExamSession) -> str:
    """The absolute link a student opens to sit the exam (the token is their credential)."""
    return settings.SITE_URL + reverse("proctoring:capture", args=[session.token])


def exam_sessions_with_students(*, exam: Exam) -> QuerySet[ExamSession]:
    return exam.sessions.select_related("exam", "student").order_by("student__student_number")


def invitation_counts(*, exam: Exam) -> dict[str, int]:
    """Status -> how many of the exam's students' emails are in it."""
    rows = (
        Invitation.objects.filter(session__exam=exam)
        .values("status")
        .annotate(total=Count("pk"))
        .order_by()
    )
    return {row["status"]: row["total"] for row in rows}
