"""The student side of the API: requests that carry an exam session's token."""

from rest_framework.permissions import BasePermission

from invigilation.exams.models import ExamSession


class IsExamSessionHolder(BasePermission):
    """The request carries a valid student exam-session token."""

    message = "An exam session token is required."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ExamSession)
