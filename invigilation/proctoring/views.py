from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from invigilation.accounts.authentication import session_for_token


def capture(request: HttpRequest, token: str) -> HttpResponse:
    """The student's page: consent, camera preview, identity check, then frame streaming."""
    session = session_for_token(token)
    if session is None:
        response = render(request, "proctoring/capture_invalid.html", status=404)
    else:
        context = {
            "session": session,
            "token": token,
            "expression_enabled": settings.EXPRESSION_ANALYSIS_ENABLED,
        }
        response = render(request, "proctoring/capture.html", context)
    # The token is in the URL: never leak it to another site through the Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response
