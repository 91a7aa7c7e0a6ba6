"""The database briefly unavailable: requests that need it answer 503 with Retry-After (JSON
for the API, a short text for pages), not a 500, and work again once it is back."""

import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from invigilation.core.embedded_redis import free_port
from invigilation.exams.services import check_in
from invigilation.proctoring.tasks import analyse_latest_frame

ROOT = Path(__file__).resolve().parents[1]


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


def database_down(execute, sql, params, many, context):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def assert_unavailable(response, content_type: str = "application/json") -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith(content_type)
    assert "briefly unavailable" in response.content.decode()


@pytest.mark.django_db
def test_api_and_pages_answer_503_while_the_database_is_down(
    sessions, invigilator, client, monkeypatch
):
    monkeypatch.setattr(analyse_latest_frame, "apply_async", lambda args, expires: None)
    check_in(session=sessions["S001"], verified=None)  # frames need a check-in
    student = APIClient()
    student.credentials(HTTP_AUTHORIZATION=f"Session {sessions['S001'].token}")
    staff = APIClient()
    staff.login(username="invig", password="pw-invig-123")
    client.force_login(invigilator)
    exam_page = reverse("dashboard:exam", args=[sessions["S001"].exam_id])

    with connection.execute_wrapper(database_down):
        assert_unavailable(student.post(reverse("frame-ingest"), jpeg(), content_type="image/jpeg"))
        assert_unavailable(student.post(reverse("check-in"), jpeg(), content_type="image/jpeg"))
        assert_unavailable(staff.get(reverse("flag-list")))
        assert_unavailable(client.get(exam_page, HTTP_ACCEPT="text/html"), "text/plain")

    # Back: the same requests work, nothing was lost meanwhile.
    response = student.post(reverse("frame-ingest"), jpeg(), content_type="image/jpeg")
    assert response.status_code == 202
    assert staff.get(reverse("flag-list")).status_code == 200
    assert client.get(exam_page).status_code == 200


def test_a_server_whose_postgresql_is_unreachable_answers_503(tmp_path, redis_url):
    """The real ASGI server and database driver, pointed at a port where nothing listens."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/invigilation",
        "REDIS_URL": redis_url,
        "INVIGILATION_VAR_DIR": str(tmp_path),
    }
    log = tmp_path / "web.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "invigilation.server.web_server", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        assert call(f"{base}/healthz", deadline=time.monotonic() + 60)[0] == 503, log.read_text()
        frame = call(f"{base}/api/frames/", jpeg(), {
            "Authorization": "Session some-token", "Content-Type": "image/jpeg",
        })  # fmt: skip
        flags = call(f"{base}/api/flags/", headers={"Authorization": "Token some-token"})
        # A browser with a session cookie opens the dashboard: the session is in the database.
        page = call(f"{base}/", headers={"Accept": "text/html", "Cookie": "sessionid=" + "k" * 32})
    finally:
        server.terminate()
        server.wait(timeout=10)
    for status, headers, body in (frame, flags):
        assert (status, headers["Retry-After"]) == (503, "5"), body
        assert "briefly unavailable" in json.loads(body)["detail"]
    assert (page[0], page[1]["Retry-After"]) == (503, "5")
    assert page[1]["Content-Type"].startswith("text/plain")
    assert "Traceback" not in log.read_text()


def call(url: str, body: bytes | None = None, headers: dict | None = None, deadline: float = 0):
    """(status, headers, body); retries until `deadline` while the server is not up yet."""
    while True:
        try:
            request = urllib.request.Request(url, body, headers or {})
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()
        except urllib.error.URLError:
            assert time.monotonic() < deadline
            time.sleep(0.3)
