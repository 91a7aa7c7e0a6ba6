"""Redis restarting mid-exam, on real processes (ASGI server, Celery worker, this test's own
redis-server, restarted empty on the same port as a crashed Redis would be).

While Redis is away, frames get a 503 with Retry-After; once it is back, frames are accepted
and analysed again, and a dashboard's WebSocket that reconnects gets the next flag live.
"""

import json
import time
import urllib.error
import urllib.request
from itertools import islice

import cv2
import pytest
from test_check_in_worker import check_in
from test_live_end_to_end import api_token, upload_photo
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from invigilation.benchmarks.latency import login_cookie
from invigilation.core.embedded_redis import EmbeddedRedis
from invigilation.proctoring.management.commands.simulate_student import clip_frames


@pytest.fixture(autouse=True)
def _one_check_raises_a_flag(monkeypatch) -> None:
    """Every frame's identity is checked (set before the stack starts, so it reads it)."""
    monkeypatch.setenv("IDENTITY_CHECK_EVERY", "1")
    monkeypatch.setenv("IDENTITY_CHECK_EVERY_CLEAR", "1")


@pytest.fixture
def own_redis():
    server = EmbeddedRedis().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(own_redis) -> str:
    """The stack runs on this test's redis-server, never on a shared one."""
    return own_redis.url


@pytest.fixture
def jpeg(shared_data) -> bytes:
    ok, image = cv2.VideoCapture(str(shared_data / "video" / "d13.mp4")).read()
    assert ok
    scale = 640 / max(image.shape[:2])
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def post_frame(stack: dict, jpeg: bytes, path: str = "/api/frames/") -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{stack['url']}{path}", jpeg, method="POST",
        headers={"Authorization": f"Session {stack['token']}", "Content-Type": "image/jpeg"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def dashboard_socket(stack: dict, deadline: float) -> ClientConnection:
    """Connect as dashboard.js does: on failure, again after 0.5, 1, 2, 4... s."""
    url = stack["url"].replace("http", "ws") + f"/ws/exams/{stack['exam']}/alerts/"
    headers = {"Cookie": stack["cookie"], "Origin": stack["url"]}
    delay = 0.5
    while True:
        try:
            return connect(url, additional_headers=headers, open_timeout=5)
        except (OSError, TimeoutError, WebSocketException):
            assert time.monotonic() < deadline, "the dashboard could not reconnect"
            time.sleep(delay)
            delay = min(2 * delay, 8)


def next_flag(socket: ClientConnection, deadline: float) -> dict:
    while True:
        message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == "flag":
            return message["flag"]


def stream_until_accepted(stack: dict, jpeg: bytes, deadline: float) -> None:
    """Send frames as the capture page does, waiting as long as the server asks."""
    while (answer := post_frame(stack, jpeg))[0] != 202:
        status, headers, _ = answer
        assert status in (429, 503) and time.monotonic() < deadline, answer
        time.sleep(min(float(headers["Retry-After"]), 2))


def test_frames_and_live_alerts_resume_after_redis_restarts(stack, own_redis, jpeg, shared_data):
    base = stack["url"]
    token = api_token(base, "boss", "pw-boss-1234")
    someone_else = sorted((shared_data / "lfw-dev" / "images").glob("*/*.jpg"))[0]
    assert upload_photo(base, token, "S42.jpg", someone_else.read_bytes())["succeeded"] == 1
    # One failed identity check raises a flag, so each stretch of the exam yields one quickly.
    thresholds = json.dumps({"rule_thresholds": {"mismatch_checks": 1}}).encode()
    urllib.request.urlopen(urllib.request.Request(
        f"{base}/api/exams/{stack['exam']}/", thresholds, method="PATCH",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )).close()  # fmt: skip
    stack["cookie"] = login_cookie(base, "watcher", "pw-watch-1234")
    # Frames need a check-in: a burst from the clip, judged by the worker (not the photo's face).
    burst = list(islice(clip_frames(shared_data / "video" / "d13.mp4", 4, False), 12))
    verdict, _ = check_in(base, stack["token"], burst)
    assert verdict["outcome"] == "not_verified", verdict

    with dashboard_socket(stack, time.monotonic() + 30) as socket:
        assert post_frame(stack, jpeg)[0] == 202
        before = next_flag(socket, time.monotonic() + 60)
        assert before["kind"] == "identity_mismatch"

        own_redis.stop()
        status, headers, body = post_frame(stack, jpeg)
        assert (status, headers["Retry-After"]) == (503, "5"), body
        assert "briefly unavailable" in body["detail"]
        # The server closes the dashboard's socket, so the page knows to reconnect.
        with pytest.raises(ConnectionClosed):
            while True:
                socket.recv(timeout=30)

    own_redis.start()
    with dashboard_socket(stack, time.monotonic() + 60) as socket:
        stream_until_accepted(stack, jpeg, time.monotonic() + 60)
        after = next_flag(socket, time.monotonic() + 90)
    assert after["kind"] == "identity_mismatch" and after["id"] > before["id"]
