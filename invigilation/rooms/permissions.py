from rest_framework.permissions import BasePermission

from invigilation.rooms.models import Camera


class IsCamera(BasePermission):
    """The request carries a valid room camera token."""

    message = "A room camera token is required (Authorization: Camera <token>)."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Camera)
