"""Students authenticate with their exam session's token, never with a user account."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from invigilation.exams.selectors import session_for_token

KEYWORD = "Session"


class ExamSessionTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Session <token>`; request.auth becomes the ExamSession.

    request.user stays anonymous, so a student token passes no staff permission check.
    """

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace") != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Expected 'Session <token>'.")
        session = session_for_token(header[1].decode(errors="replace"))
        if session is None:
            raise exceptions.AuthenticationFailed("Unknown or expired exam session token.")
        return AnonymousUser(), session

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class ExamSessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = ExamSessionTokenAuthentication
    name = "examSessionToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Student exam-session token: `Session <token>`.",
        }
