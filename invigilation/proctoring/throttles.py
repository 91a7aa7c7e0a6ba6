from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from invigilation.core.http import client_ip
from invigilation.core.ratelimit import Limiter, wait_text

CHECK_INS_PER_SESSION = Limiter("check-in-session", "CHECK_IN_RATE_LIMIT")
CHECK_INS_PER_ADDRESS = Limiter("check-in-ip", "CHECK_IN_IP_RATE_LIMIT")
SYSTEM_CHECKS_PER_SESSION = Limiter("system-check-session", "SYSTEM_CHECK_RATE_LIMIT")


class CheckInThrottle(BaseThrottle):
    """Each identity check (a burst) costs a worker the face models on every frame: every
    attempt counts, per exam session and per client address."""

    per_session = CHECK_INS_PER_SESSION
    what = "identity checks"

    def allow_request(self, request: Request, view: APIView) -> bool:
        waits = [
            # By token, not id: a database recreated against the same Redis reuses ids.
            self.per_session.hit([f"session:{request.auth.token}"]),
            CHECK_INS_PER_ADDRESS.hit([f"ip:{client_ip(request)}"]),
        ]
        retry_after = max(filter(None, waits), default=None)
        if retry_after:
            # Raised here rather than returning False, for a message the student can act on.
            raise Throttled(
                retry_after,
                detail=f"Too many {self.what}. Try again in {wait_text(retry_after)}.",
            )
        return True


class SystemCheckThrottle(CheckInThrottle):
    """System checks run the face detector (on a worker): counted apart from identity
    checks, so testing the camera never uses up a student's check-ins; the address limit is
    shared."""

    per_session = SYSTEM_CHECKS_PER_SESSION
    what = "system checks"
