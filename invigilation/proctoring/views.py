from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from invigilation.exams.models import ExamSession
from invigilation.exams.selectors import session_for_token


def capture(request: HttpRequest, token: str) -> HttpResponse:
    """The student's page: consent, camera preview, identity check, frame streaming, Finish."""
    return _student_page(request, token, "proctoring/capture.html")


def system_check(request: HttpRequest, token: str) -> HttpResponse:
    """Before the exam: camera, face and light, upload speed; each with a plain fix."""
    return _student_page(request, token, "proctoring/system_check.html")


def _student_page(request: HttpRequest, token: str, template: str) -> HttpResponse:
    session = session_for_token(token)
    if session is None:
        response = render(request, "proctoring/capture_invalid.html", status=404)
    else:
        context = {
            "session": session,
            "token": token,
            "finished": session.status == ExamSession.Status.FINISHED,
            "expression_enabled": settings.EXPRESSION_ANALYSIS_ENABLED,
        }
        response = render(request, template, context)
    # The token is in the URL: never leak it to another site through the Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response
