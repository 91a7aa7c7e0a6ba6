"""Every URL the project routes, walked from the resolver, refuses whoever may not use it.

The URL patterns are not listed by hand: they come from `get_resolver()` (and the WebSocket
routing), and each route's parameters are filled with the ids of real objects, so that every
view gets as far as its permission checks. A URL added later is checked the day it is added;
one that answers anonymous users must be added, with its reason, to PUBLIC below.
"""

import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connections
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.views import APIView

from invigilation.accounts.permissions import CanReadAuditLog, IsExamAdmin
from invigilation.asgi import application
from invigilation.audit.models import AccessEvent
from invigilation.exams.authentication import ExamSessionTokenAuthentication
from invigilation.exams.models import Exam
from invigilation.exams.services import check_in
from invigilation.kiosk.models import KioskAttempt
from invigilation.proctoring import frames, ingest
from invigilation.proctoring.models import CheckInAttempt
from invigilation.proctoring.services import raise_flag
from invigilation.rooms import frames as room_frames
from invigilation.rooms.models import Camera
from invigilation.routing import websocket_urlpatterns
from invigilation.students.models import EnrolmentPhoto

# The routes anyone may use without logging in, each for a reason. Keys are the full route
# as the resolver spells it. Everything else must refuse an anonymous request.
PUBLIC = {
    # Log-in pages (the first is the project's rate-limited wrapper, shadowing the admin's own).
    "admin/login/": "the admin's log-in page",
    "accounts/login/": "the staff log-in page",
    # Log-out pages: they only end the caller's own session (and GET answers 405).
    "admin/logout/": "the admin's log-out page",
    "accounts/logout/": "the staff log-out page",
    # Trades a username and password for an API token: a log-in, rate-limited like the pages.
    "api/auth/token/": "API log-in (username and password for a token)",
    # Liveness for load balancers and `manage.py run`: says only ok/down for the database
    # and Redis.
    "healthz": "liveness check",
    # The OpenAPI schema and its two viewers describe the API, not its data; public on
    # purpose (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] is AllowAny).
    "api/schema/": "OpenAPI schema",
    "api/docs/": "Swagger UI for the schema",
    "api/redoc/": "ReDoc for the schema",
    # The student's capture page, authorised by the unguessable session token in its URL;
    # an unknown or expired token gets 404 (test_public_endpoints_do_only_what_they_should).
    "capture/<str:token>/": "student capture page, authorised by its token",
    "capture/<str:token>/system-check/": "student's system check page, authorised likewise",
    # A room camera's page, authorised by the camera's unguessable token in its URL likewise.
    "camera/<str:token>/": "room camera page, authorised by its token",
}
# Not listed, because they refuse anonymous requests like the rest: the student-token
# endpoints (/api/me/..., /api/frames/) answer 401 without `Authorization: Session <token>`.
# Static files are served by WhiteNoise's middleware, outside the resolver; media files have
# no URL at all (photos and snapshots are served only through the permission-checked views).

# What a route parameter is filled with: a key of the `world` fixture, or a literal.
OBJECT_OF_PARAMETER = {
    "exam_id": "exam",
    "session_id": "session",
    "flag_id": "flag",
    "student_id": "student",
    "photo_id": "photo",
    "attempt_id": "attempt",
    "kiosk_attempt_id": "kiosk_attempt",
    "camera_id": "camera",
    "token": "token",
}
# `pk` of the API router's viewsets, by basename.
OBJECT_OF_BASENAME = {
    "exam": "exam",
    "session": "session",
    "flag": "flag",
    "student": "student",
    "access-event": "event",
}
# check_id: a check-in burst's or system check's id (unknown here: its poll answers 404).
LITERAL_PARAMETERS = {"format": "json", "check_id": "0" * 32}
# Objects that belong to one exam: a URL naming one of another exam's is out of bounds.
EXAM_SCOPED = {"exam", "session", "flag", "student", "photo", "event", "attempt",
               "kiosk_attempt", "camera"}  # fmt: skip
# Permissions no invigilator holds, whatever the exam.
ADMIN_ONLY = (IsExamAdmin, CanReadAuditLog)
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Endpoint:
    patterns: tuple  # the enclosing resolvers' patterns, then the URL pattern's own
    callback: Callable
    namespaces: tuple[str, ...]

    @property
    def route(self) -> str:
        return "".join(str(pattern) for pattern in self.patterns)

    @property
    def parameters(self) -> list[str]:
        names: list[str] = []
        for pattern in self.patterns:
            if isinstance(pattern, RoutePattern):
                names += pattern.converters
            else:
                names += pattern.regex.groupindex
        return names

    @property
    def is_admin(self) -> bool:
        return "admin" in self.namespaces

    @property
    def drf_view(self) -> type[APIView] | None:
        cls = getattr(self.callback, "cls", None)
        return cls if isinstance(cls, type) and issubclass(cls, APIView) else None

    @property
    def allowed_methods(self) -> list[str]:
        """The methods the view answers (a function view may look at any: GET and POST)."""
        if view := self.drf_view:
            actions = getattr(self.callback, "actions", None)
            declared = list(actions) if actions else [m for m in METHODS if hasattr(view, m)]
        elif view_class := getattr(self.callback, "view_class", None):
            declared = [m for m in METHODS if hasattr(view_class, m)]
        else:
            declared = ["get", "post"]
        return [m for m in METHODS if m in declared]

    @property
    def methods(self) -> list[str]:
        """GET, which everyone must be refused too, and whatever else the view answers."""
        return ["get", *(m for m in self.allowed_methods if m != "get")]

    @property
    def allows_get(self) -> bool:
        return "get" in self.allowed_methods

    @property
    def takes_student_token(self) -> bool:
        view = self.drf_view
        return bool(view) and any(
            issubclass(auth, ExamSessionTokenAuthentication) for auth in view.authentication_classes
        )

    @property
    def admin_only(self) -> bool:
        view = self.drf_view
        if not view:
            return False
        permissions = self.callback.initkwargs.get("permission_classes", view.permission_classes)
        return any(issubclass(permission, ADMIN_ONLY) for permission in permissions)

    def object_of(self, parameter: str) -> str:
        """The `world` key a parameter names, or a literal."""
        if parameter == "pk" and self.drf_view:
            basename = self.callback.initkwargs.get("basename")
            assert basename in OBJECT_OF_BASENAME, (
                f"{self.route}: add the router basename {basename!r} to OBJECT_OF_BASENAME"
            )
            return OBJECT_OF_BASENAME[basename]
        if parameter in OBJECT_OF_PARAMETER:
            return OBJECT_OF_PARAMETER[parameter]
        assert parameter in LITERAL_PARAMETERS, (
            f"{self.route}: teach this test what to fill the parameter {parameter!r} with"
        )
        return parameter

    def scoped_parameters(self) -> list[str]:
        return [p for p in self.parameters if self.object_of(p) in EXAM_SCOPED]


def walk(resolver: URLResolver, patterns: tuple = (), namespaces: tuple = ()) -> Iterator:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from walk(entry, (*patterns, entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern), entry
            yield Endpoint((*patterns, entry.pattern), entry.callback, namespaces)


ENDPOINTS = list(walk(get_resolver()))
PAGES = [e for e in ENDPOINTS if not e.is_admin and e.route not in PUBLIC]
STUDENT_TOKEN_ENDPOINTS = [e for e in ENDPOINTS if e.takes_student_token]


def concrete_path(endpoint: Endpoint, values: dict[str, object]) -> str:
    parts = []
    for pattern in endpoint.patterns:
        if isinstance(pattern, RoutePattern):
            part = re.sub(
                r"<(?:[^>:]+:)?(\w+)>",
                lambda m, p=pattern: str(p.converters[m[1]].to_url(values[m[1]])),
                str(pattern),
            )
        else:
            assert isinstance(pattern, RegexPattern), pattern
            part = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m[1]]), str(pattern))
            part = part.removeprefix("^").removesuffix("$").replace("/?", "/")
            part = part.replace("\\.", ".")
        parts.append(part)
    return "/" + "".join(parts)


def admin_values(endpoint: Endpoint) -> dict[str, object]:
    """The admin's parameters, filled with an existing object of the route's model."""
    model = None
    if len(endpoint.patterns) > 2 and (
        found := re.fullmatch(r"(\w+)/(\w+)/", str(endpoint.patterns[1]))
    ):
        model = apps.get_model(*found.groups())
    exam_type = ContentType.objects.get_for_model(Exam)
    values: dict[str, object] = {}
    for name in endpoint.parameters:
        if name in ("object_id", "id") and model is not None:
            values[name] = model._default_manager.order_by("pk").values_list("pk", flat=True)[0]
        elif name == "object_id":  # admin/r/<content_type_id>/<object_id>/ (view on site)
            values[name] = exam_type.model_class().objects.order_by("pk")[0].pk
        elif name == "content_type_id":
            values[name] = exam_type.pk
        elif name == "app_label":
            values[name] = "exams"
        elif name == "url":
            values[name] = "no-such-admin-page/"
        else:
            pytest.fail(f"{endpoint.route}: teach this test the admin parameter {name!r}")
    return values


def path_for(endpoint: Endpoint, world: dict, **overrides: dict) -> str:
    """The endpoint's URL for the objects of world["mine"], a parameter at a time taken from
    another dict (e.g. exam_id=world["theirs"])."""
    if endpoint.is_admin:
        return concrete_path(endpoint, admin_values(endpoint))
    values = {}
    for name in endpoint.parameters:
        key = endpoint.object_of(name)
        objects = overrides.get(name, world["mine"])
        values[name] = LITERAL_PARAMETERS[key] if key in LITERAL_PARAMETERS else objects[key]
    return concrete_path(endpoint, values)


def call(client: APIClient, method: str, path: str):
    if method == "get":
        return client.get(path)
    return client.generic(method.upper(), path, "{}", content_type="application/json")


def body(response) -> bytes:
    # The test client closes a response itself (a streamed one once read to the end); closing
    # it again here would send request_finished and close the test's database connection.
    return b"".join(response.streaming_content) if response.streaming else response.content


def refused(response) -> bool:
    """401/403, or a redirect to a log-in page."""
    if response.status_code in (401, 403):
        return True
    if response.status_code in (301, 302):
        return urlsplit(response["Location"]).path in {reverse("login"), reverse("admin:login")}
    return False


def jpeg(colour=(90, 120, 150)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def add_photo(student, colour) -> EnrolmentPhoto:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, "PNG")
    photo = EnrolmentPhoto(student=student, extension="png", width=32, height=32,
                           sha256=f"{student.pk:064d}")  # fmt: skip
    photo.image.save("photo.png", ContentFile(buffer.getvalue()))
    return photo


def check_in_attempt(session, colour) -> CheckInAttempt:
    attempt = CheckInAttempt(session=session, attempted_at=timezone.now(), outcome="verified",
                             message="Identity checked", distance=0.3)  # fmt: skip
    attempt.snapshot.save("check-in.jpg", ContentFile(jpeg(colour)))
    return attempt


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {token}")
    return client


@pytest.fixture
def world(exam, other_exam, sessions, exam_admin, invigilator):
    """`mine`: `exam`'s objects (S001); `theirs`: `other_exam`'s (S003, who sits only it).
    Each side has a session, its student, a flag with a snapshot, an enrolment photo,
    attendance and an audit event; `markers` are strings of `theirs` that no page of
    `exam` may show."""
    Token.objects.create(user=exam_admin)  # for the admin's token pages

    def side(exam, session, colour, message) -> dict:
        check_in(session=session, verified=True, distance=0.3)
        event = AccessEvent.objects.create(
            user=exam_admin, username=exam_admin.username, action="viewed",
            what="exam_report", exam=exam, student=session.student,
        )  # fmt: skip
        return {
            "exam": exam.pk,
            "session": session.pk,
            "student": session.student.pk,
            "flag": raise_flag(
                session=session,
                kind="no_face",
                message=message,
                snapshot=jpeg(colour),
                thumbnail=jpeg(colour),
            ).pk,
            "photo": add_photo(session.student, colour).pk,
            "attempt": check_in_attempt(session, colour).pk,
            "event": event.pk,
            "token": session.token,
            "kiosk_attempt": KioskAttempt.objects.create(
                exam=exam, session=session, outcome="match", attempted_at=timezone.now()
            ).pk,
            "camera": Camera.objects.create(exam=exam, name="Front").pk,
        }

    theirs = side(other_exam, sessions["S003"], (200, 0, 0), "THEIR-FLAG-MESSAGE")
    return {
        "mine": side(exam, sessions["S001"], (0, 200, 0), "my flag"),
        "theirs": theirs,
        "markers": [
            b"Grace Hopper",
            b"Databases",
            b"CS202",
            b"THEIR-FLAG-MESSAGE",
            theirs["token"].encode(),
        ],  # fmt: skip
    }


@pytest.mark.django_db
def test_the_walk_reaches_every_pattern_with_a_path_that_resolves_to_it(world):
    routes = {endpoint.route for endpoint in ENDPOINTS}
    assert len(ENDPOINTS) > 100
    # The walk goes into every include: the admin, the API router, each app's urls.
    for expected in ["admin/exams/exam/<path:object_id>/change/", "api/^flags/$",
                     "api/me/session/", "exams/<int:exam_id>/report.pdf", "photos/<int:photo_id>/",
                     "capture/<str:token>/", ""]:  # fmt: skip
        assert expected in routes
    # Every allow-list entry is a real route (no stale entries hiding anything).
    assert set(PUBLIC) <= routes
    seen = set()
    for endpoint in ENDPOINTS:
        path = path_for(endpoint, world)
        # The filled-in path reaches this very view, unless an earlier pattern answers the
        # same path (the rate-limited admin/login/ shadows the admin's own).
        assert resolve(path).func is endpoint.callback or path in seen, (endpoint.route, path)
        seen.add(path)


@pytest.mark.django_db
@pytest.mark.parametrize("credential", ["anonymous", "student token"])
def test_everything_but_the_public_routes_refuses_anonymous_users_and_student_tokens(
    world, credential
):
    if credential == "anonymous":
        client = APIClient()
        checked = [e for e in ENDPOINTS if e.route not in PUBLIC]
    else:  # a student's token opens their own endpoints and nothing else
        client = token_client(world["mine"]["token"])
        checked = [e for e in ENDPOINTS if e.route not in PUBLIC and not e.takes_student_token]
    leaks = []
    requests = 0
    for endpoint in checked:
        path = path_for(endpoint, world)
        for method in endpoint.methods:
            response = call(client, method, path)
            requests += 1
            if not refused(response):
                leaks.append(f"{method.upper()} {path} ({endpoint.route}) -> "
                             f"{response.status_code} {body(response)[:120]!r}")  # fmt: skip
    assert not leaks, "\n".join(leaks)
    assert requests > 200


@pytest.mark.django_db
def test_public_endpoints_do_only_what_they_should(world, client):
    mine = world["mine"]
    # The capture page: a valid token opens its own session's page; an unknown one 404s.
    for name in ("proctoring:capture", "proctoring:system-check"):
        page = client.get(reverse(name, args=[mine["token"]]))
        assert page.status_code == 200 and b"Ada Lovelace" in page.content
        assert not any(marker in page.content for marker in world["markers"])
        assert b"Alan Turing" not in page.content
        unknown = client.get(reverse(name, args=["not-a-real-token"]))
        assert unknown.status_code == 404
    # Liveness says ok/down and nothing else.
    health = client.get(reverse("healthz"))
    assert set(health.json()) == {"database", "redis"}
    # The log-in pages and the schema answer; the schema holds no data.
    for name in ["login", "admin:login", "api-docs", "api-redoc"]:
        assert client.get(reverse(name)).status_code == 200, name
    schema = client.get(reverse("schema"))
    assert schema.status_code == 200
    assert not any(marker in body(schema) for marker in [*world["markers"], b"Ada Lovelace"])
    # The API log-in needs a valid password.
    token_login = APIClient().post(reverse("api-token"), {"username": "invig", "password": "x"})
    assert token_login.status_code == 400 and "token" not in token_login.json()


@pytest.mark.django_db
def test_stored_files_have_no_public_url(world, client):
    for photo in EnrolmentPhoto.objects.all():
        for path in (f"/{photo.image.name}", f"/media/{photo.image.name}"):
            assert client.get(path).status_code == 404, path


@pytest.mark.django_db
def test_an_invigilator_reaches_their_exam_and_nothing_of_another(world, invigilator, sessions,
                                                                  settings):  # fmt: skip
    # A frame waiting for "look now" (latest-frame.jpg), kept for the whole walk.
    settings.FRAME_TTL_SECONDS = 3600
    frames.put_latest(sessions["S001"], frames.PendingFrame(jpeg(), time.time()))
    settings.ROOM_VIEW_TTL_SECONDS = 3600  # and a room camera's latest frame, for its room view
    camera = Camera.objects.get(pk=world["mine"]["camera"])
    room_frames.put_view(camera, jpeg(), {"at": time.time(), "faces": []})
    client = APIClient()
    client.force_login(invigilator)
    theirs, problems, checked = world["theirs"], [], 0
    for endpoint in PAGES:
        if endpoint.takes_student_token:
            continue
        scoped = endpoint.scoped_parameters()
        # Another exam's objects, all of them and one parameter at a time: 404 (or 403).
        swaps = [dict.fromkeys(scoped, theirs)] if scoped else []
        if len(scoped) > 1:
            swaps += [{p: theirs} for p in scoped]
        for overrides in swaps:
            path = path_for(endpoint, world, **overrides)
            for method in endpoint.allowed_methods:
                response = call(client, method, path)
                checked += 1
                if response.status_code not in (403, 404):
                    problems.append(f"{method.upper()} {path}: {response.status_code}")
        # The same URL for the invigilator's own exam: 2xx, and nothing of the other exam's.
        if endpoint.allows_get:
            path = path_for(endpoint, world)
            response = call(client, "get", path)
            content = body(response)
            expected = (403,) if endpoint.admin_only else range(200, 300)
            if response.status_code not in expected:
                problems.append(f"GET {path} (own exam): {response.status_code}")
            problems += [f"GET {path} shows {m!r}" for m in world["markers"] if m in content]
    assert not problems, "\n".join(problems)
    assert checked > 50


@pytest.mark.django_db
def test_staff_who_are_not_admins_are_kept_out_of_the_admin(world, invigilator):
    client = Client()
    client.force_login(invigilator)
    admin_routes = [e for e in ENDPOINTS if e.is_admin and e.route not in PUBLIC]
    assert len(admin_routes) > 30
    for endpoint in admin_routes:
        path = path_for(endpoint, world)
        response = client.get(path)
        assert response.status_code == 302, path
        assert urlsplit(response["Location"]).path == reverse("admin:login"), path


@pytest.mark.django_db
def test_a_student_token_reads_and_writes_its_own_session_only(world, sessions, monkeypatch):
    assert {e.route for e in STUDENT_TOKEN_ENDPOINTS} >= {"api/me/session/", "api/frames/"}
    mine, theirs = sessions["S001"], sessions["S003"]
    client = token_client(mine.token)
    # Naming another session in the query changes nothing: the token decides.
    foreign = f"?id={theirs.pk}&session={theirs.pk}&pk={theirs.pk}&token={theirs.token}"
    response = client.get(reverse("student-session") + foreign)
    assert response.status_code == 200
    assert response.json()["id"] == mine.pk and response.json()["student_number"] == "S001"
    assert not any(marker in response.content for marker in world["markers"])
    assert b"S002" not in response.content and b"Alan Turing" not in response.content
    # A frame goes to the token's session, whatever the query says.
    queued = []
    monkeypatch.setattr(ingest.analyse_latest_frame, "apply_async",
                        lambda args, **kwargs: queued.append(args))  # fmt: skip
    frame = client.post(reverse("frame-ingest") + foreign, jpeg(), content_type="image/jpeg")
    assert frame.status_code == 202, frame.content
    assert queued == [[mine.pk]]
    assert frames.take_latest(mine, "auth-test") is not None
    assert frames.take_latest(theirs, "auth-test") is None
    assert frames.take_latest(sessions["S002"], "auth-test") is None


@pytest.mark.django_db
def test_tokens_of_an_ended_exam_and_unknown_tokens_are_refused(world, exam, sessions, client):
    exam.starts_at = timezone.now() - timedelta(hours=3)
    exam.ends_at = timezone.now() - timedelta(minutes=1)
    exam.save()
    ended, unknown = token_client(sessions["S001"].token), token_client("no-such-token")
    assert STUDENT_TOKEN_ENDPOINTS
    for endpoint in STUDENT_TOKEN_ENDPOINTS:
        path = path_for(endpoint, world)
        for method in endpoint.methods:
            for token in (ended, unknown):
                response = call(token, method, path)
                assert response.status_code == 401, (method, path, response.content)
                assert "Unknown or expired" in response.json()["detail"]
    for name in ("proctoring:capture", "proctoring:system-check"):
        assert client.get(reverse(name, args=[sessions["S001"].token])).status_code == 404
    # The other exam is still running: its student's token still works.
    still = token_client(sessions["S003"].token).get(reverse("student-session"))
    assert still.status_code == 200 and still.json()["student_number"] == "S003"


# WebSockets, through the project's ASGI application (origin check, session auth, routing).


@pytest_asyncio.fixture
async def close_thread_connections():
    yield
    # The consumer's database calls run in a worker thread whose connection would otherwise
    # stay open and block dropping the test database.
    await database_sync_to_async(connections.close_all)()


def allowed_origin() -> bytes:
    """An Origin header the application's AllowedHostsOriginValidator accepts."""
    host = next(iter(application.application_mapping["websocket"].allowed_origins))
    host = "localhost" if host == "*" else host.lstrip(".")
    return f"http://{host}".encode()


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


async def may_connect(path: str, user=None) -> bool:
    headers = [(b"origin", allowed_origin())]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_dashboard_websockets_refuse_anonymous_users_and_other_exams_invigilators(
    close_thread_connections, exam, other_exam, invigilator, other_invigilator, exam_admin
):
    assert websocket_urlpatterns
    for pattern in websocket_urlpatterns:
        route = str(pattern.pattern)
        assert set(pattern.pattern.converters) == {"exam_id"}, f"teach this test {route}"

        def url(exam_id: int, route=route) -> str:
            return "/" + route.replace("<int:exam_id>", str(exam_id))

        assert not await may_connect(url(exam.pk)), route
        assert not await may_connect(url(exam.pk), other_invigilator), route
        assert not await may_connect(url(other_exam.pk), invigilator), route
        assert not await may_connect(url(other_exam.pk + exam.pk + 1000), invigilator), route
        # The same connections succeed for those allowed, so the refusals above are real.
        assert await may_connect(url(exam.pk), invigilator), route
        assert await may_connect(url(other_exam.pk), other_invigilator), route
        assert await may_connect(url(other_exam.pk), exam_admin), route
