"""Room cameras authenticate with their own token, never with a user account."""

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from invigilation.rooms.selectors import camera_for_token

KEYWORD = "Camera"


class CameraTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Camera <token>`; request.auth becomes the Camera. request.user stays
    anonymous, so a camera token passes no staff or student permission check."""

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace") != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Expected 'Camera <token>'.")
        camera = camera_for_token(header[1].decode(errors="replace"))
        if camera is None:
            raise exceptions.AuthenticationFailed("Unknown camera token, or its exam has ended.")
        return AnonymousUser(), camera

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class CameraTokenScheme(OpenApiAuthenticationExtension):
    target_class = CameraTokenAuthentication
    name = "cameraToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A room camera's token: `Camera <token>`.",
        }
