"""Writes to the audit log of access to students' data."""

from django.http import HttpRequest

from invigilation.audit.models import AccessEvent
from invigilation.core.http import client_ip
from invigilation.exams.models import Exam
from invigilation.students.models import Student


def record_access(
    *,
    request: HttpRequest,
    action: str,
    what: str,
    exam: Exam | None = None,
    student: Student | None = None,
    detail: str = "",
) -> AccessEvent:
    """Log that the request's user viewed, exported or erased a student's or exam's data."""
    user = request.user if request.user.is_authenticated else None
    return AccessEvent.objects.create(
        user=user,
        username=user.get_username() if user else "",
        action=action,
        what=what,
        exam=exam,
        # An erased student is no longer in the database: named by number only.
        student=student if student is not None and student.pk else None,
        student_number=student.student_number if student is not None else "",
        detail=detail[:255],
        ip=client_ip(request),
    )
