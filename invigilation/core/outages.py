"""A brief outage of the database or Redis answers 503 with Retry-After, never a 500.

Clients wait and retry (the capture page honours Retry-After); nothing stored is touched, and
only the requests that need the missing service fail while it is away.
"""

import logging

import kombu.exceptions
import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin

logger = logging.getLogger(__name__)

# The database; Redis (waiting frames, rate limits, the channel layer); the broker on Redis.
OUTAGES = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    kombu.exceptions.OperationalError,
)
RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is briefly unavailable. Try again in a few seconds."


class OutageMiddleware(MiddlewareMixin):
    """For views of every kind: DRF passes on the exceptions it has no answer for."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OUTAGES):
            return None
        logger.warning(
            "%s %s answered 503: %s: %s",
            request.method, request.path, type(exception).__name__, exception,
        )  # fmt: skip
        if "text/html" in request.headers.get("Accept", ""):  # a page a browser opened
            response = HttpResponse(MESSAGE, status=503, content_type="text/plain; charset=utf-8")
        else:
            response = JsonResponse({"detail": MESSAGE}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
