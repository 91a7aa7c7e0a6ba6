"""Request body limits, enforced as the body arrives, before Django buffers any of it.

Each route has a limit: webcam frames and the student endpoints FRAME_MAX_BYTES (plus room
for the form around an image), a check-in burst CHECK_IN_BURST_MAX_BYTES (only with a valid
student session token; a kiosk's burst likewise, only for a signed-in invigilator), a room
camera's frame ROOM_FRAME_MAX_BYTES (only with a valid camera token), everything else
REQUEST_MAX_BYTES, and the staff upload
routes PHOTO_ZIP_MAX_BYTES or CSV_IMPORT_MAX_BYTES, but only for a request already
authenticated as staff: an anonymous client never gets more than REQUEST_MAX_BYTES. A body
declared larger (Content-Length) is refused before a byte of it is read; one sent without a
length is cut off once it passes the limit. A body that pauses longer than
REQUEST_IDLE_TIMEOUT, or takes longer than REQUEST_BODY_TIMEOUT (UPLOAD_BODY_TIMEOUT for
staff uploads), is cut off with 408. Each refusal closes the connection.
"""

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve, reverse

Message = dict
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FORM_SLACK = 64 * 1024  # multipart boundaries and fields around a frame or a file
DISCONNECT: Message = {"type": "http.disconnect"}


@dataclass(frozen=True)
class Limit:
    max_bytes: int
    seconds: float  # for the whole body


class BodyLimitMiddleware:
    """ASGI middleware for HTTP requests (WebSocket messages: uvicorn's ws_max_size)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        length = _content_length(scope)
        limit = await _limit_for(scope, length)
        if length is not None and length > limit.max_bytes:
            return await _refuse(scope, send, 413, _too_large(limit))
        guard = _BodyGuard(scope, receive, send, limit)
        await self.app(scope, guard.receive, guard.send)


async def _limit_for(scope: dict, length: int | None) -> Limit:
    general = Limit(settings.REQUEST_MAX_BYTES, settings.REQUEST_BODY_TIMEOUT)
    path = scope["path"]
    if path == _check_in_path():
        return await _check_in_limit(scope, length, general)
    if path == _camera_path():
        return await _camera_limit(scope, length, general)
    if _is_kiosk_burst(path):
        return await _kiosk_limit(scope, length, general)
    if path in _student_paths():
        return Limit(settings.FRAME_MAX_BYTES + FORM_SLACK, settings.REQUEST_BODY_TIMEOUT)
    upload = _upload_limits().get(path)
    if upload is None or scope["method"] != "POST":
        return general
    # Looked up only when the general limit would not do: most requests cost no query.
    if length is not None and length <= general.max_bytes:
        return general
    if not await _is_staff(scope):
        return general
    return Limit(upload + FORM_SLACK, settings.UPLOAD_BODY_TIMEOUT)


@functools.cache
def _student_paths() -> frozenset[str]:
    return frozenset(reverse(name) for name in ("frame-ingest", "check-in", "system-check"))


@functools.cache
def _check_in_path() -> str:
    return reverse("check-in")


async def _check_in_limit(scope: dict, length: int | None, general: Limit) -> Limit:
    """A check-in burst (several frames, CHECK_IN_BURST_MAX_BYTES in all, plus the form), for
    a request carrying a student's valid session token; anyone else gets the general limit."""
    burst = Limit(settings.CHECK_IN_BURST_MAX_BYTES + FORM_SLACK, settings.REQUEST_BODY_TIMEOUT)
    if burst.max_bytes <= general.max_bytes or scope["method"] != "POST":
        return max(burst, general, key=lambda limit: limit.max_bytes)
    # Looked up only when the general limit would not do: most bursts cost no query.
    if length is not None and length <= general.max_bytes:
        return general
    token = _credential(scope, "Session")
    return burst if token and await _session_token_is_valid(token) else general


@functools.cache
def _camera_path() -> str:
    return reverse("camera-frame-ingest")


async def _camera_limit(scope: dict, length: int | None, general: Limit) -> Limit:
    """A room camera's frame (up to 4K: ROOM_FRAME_MAX_BYTES), for a request carrying a valid
    camera token; anyone else gets the general limit."""
    room = Limit(settings.ROOM_FRAME_MAX_BYTES + FORM_SLACK, settings.REQUEST_BODY_TIMEOUT)
    if scope["method"] != "POST" or (length is not None and length <= general.max_bytes):
        return general
    token = _credential(scope, "Camera")
    return room if token and await _camera_token_is_valid(token) else general


def _credential(scope: dict, scheme: str) -> str | None:
    """The token of an `Authorization: <scheme> <token>` header, if the request has one."""
    headers = dict(scope["headers"])
    authorization = headers.get(b"authorization", b"").decode("latin-1").split()
    if len(authorization) != 2 or authorization[0] != scheme:
        return None
    return authorization[1]


def _is_kiosk_burst(path: str) -> bool:
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.view_name == "kiosk-api:bursts"


async def _kiosk_limit(scope: dict, length: int | None, general: Limit) -> Limit:
    """A burst from an exam room's kiosk (the check-in's frames, CHECK_IN_BURST_MAX_BYTES),
    for a signed-in invigilator or exam admin; anyone else gets the general limit."""
    burst = Limit(settings.CHECK_IN_BURST_MAX_BYTES + FORM_SLACK, settings.REQUEST_BODY_TIMEOUT)
    if scope["method"] != "POST" or (length is not None and length <= general.max_bytes):
        return general
    return burst if await _is_staff(scope, invigilators=True) else general


@database_sync_to_async
def _camera_token_is_valid(token: str) -> bool:
    from django.db import DatabaseError

    from invigilation.rooms.selectors import camera_for_token

    try:
        return camera_for_token(token) is not None
    except DatabaseError:
        return True  # the view answers 503 itself while the database is away


@database_sync_to_async
def _session_token_is_valid(token: str) -> bool:
    from django.db import DatabaseError

    from invigilation.exams.selectors import session_for_token

    try:
        return session_for_token(token) is not None
    except DatabaseError:
        return True  # the view answers 503 itself while the database is away


@functools.cache
def _upload_limits() -> dict[str, int]:
    photos, csv = settings.PHOTO_ZIP_MAX_BYTES, settings.CSV_IMPORT_MAX_BYTES
    return {
        reverse("student-upload-photos"): photos,
        reverse("admin:students_student_upload_photos"): photos,
        reverse("student-import-csv"): csv,
        reverse("admin:students_student_import_csv"): csv,
        reverse("admin:exams_exam_import_timetable"): csv,
    }


async def _is_staff(scope: dict, invigilators: bool = False) -> bool:
    """Signed in as staff (session cookie) or an exam admin's API token: what the upload
    views require (`invigilators`: an invigilator will do, as the kiosk requires), checked
    here only to decide how many bytes to accept."""
    headers = dict(scope["headers"])
    authorization = headers.get(b"authorization", b"").decode("latin-1").split()
    token = authorization[1] if len(authorization) == 2 and authorization[0] == "Token" else None
    cookies = parse_cookie(headers.get(b"cookie", b"").decode("latin-1"))
    session_key = cookies.get(settings.SESSION_COOKIE_NAME)
    # No credentials, no query: anonymous floods never wait for a database thread.
    if not (token or session_key):
        return False
    return await _user_is_staff(token, session_key, invigilators)


@database_sync_to_async
def _user_is_staff(token: str | None, session_key: str | None, invigilators: bool) -> bool:
    from django.contrib.auth import get_user
    from rest_framework.authtoken.models import Token

    from invigilation.accounts.roles import is_exam_admin, is_invigilator

    if token:
        found = Token.objects.select_related("user").filter(key=token).first()
        user = found.user if found else None
    else:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = get_user(SimpleNamespace(session=store))
    if not (user and user.is_active):
        return False
    return user.is_staff or is_exam_admin(user) or (invigilators and is_invigilator(user))


class _BodyGuard:
    """Wraps receive: counts the body and times it; over the limit or too slow, answers
    itself and tells the application the client left (Django then drops the request)."""

    def __init__(self, scope: dict, receive: Receive, send: Send, limit: Limit) -> None:
        self.scope, self._receive, self._send, self.limit = scope, receive, send, limit
        self.deadline = time.monotonic() + limit.seconds
        self.received = 0
        self.body_done = False
        self.refused = False

    async def receive(self) -> Message:
        if self.refused:
            return DISCONNECT
        if self.body_done:  # Django's wait for a disconnect while the view runs
            return await self._receive()
        timeout = min(settings.REQUEST_IDLE_TIMEOUT, self.deadline - time.monotonic())
        try:
            message = await asyncio.wait_for(self._receive(), max(timeout, 0))
        except TimeoutError:
            return await self._refuse(408, "The request body arrived too slowly.")
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                return await self._refuse(413, _too_large(self.limit))
            self.body_done = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if not self.refused:
            await self._send(message)

    async def _refuse(self, status: int, detail: str) -> Message:
        self.refused = True
        await _refuse(self.scope, self._send, status, detail)
        return DISCONNECT


def _content_length(scope: dict) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: Limit) -> str:
    return f"The request body is larger than this address accepts ({limit.max_bytes} bytes)."


async def _refuse(scope: dict, send: Send, status: int, detail: str) -> None:
    """JSON for the API, plain text for pages; the connection is closed, so the rest of
    the body is never read."""
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body, kind = detail.encode(), b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
