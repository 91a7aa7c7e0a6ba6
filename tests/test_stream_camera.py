"""`stream_camera` as an operator runs it: a video file (or a network stream) sent as a room
camera to the running product, whose worker analyses what arrived; and its clear errors."""

import functools
import http.server
import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from invigilation.core.embedded_redis import free_port
from invigilation.rooms import frames
from invigilation.rooms.models import Camera
from tests.room_helpers import hall_images, running_room

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hall_video(shared_data, tmp_path) -> Path:
    """hall-dev's hall1 frames (1920x1080, 33 faces each) as a 1 fps video (MJPG: every frame
    a JPEG, so the small faces survive)."""
    video = tmp_path / "hall1.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 1, (1920, 1080))
    for image in hall_images(shared_data):
        writer.write(image)
    writer.release()
    return video


@pytest.fixture
def room_stack(tmp_path, redis_url, monkeypatch):
    """The product running with a room camera. Frames wait a minute, not 10 s: the worker's
    first hall frame also loads the hall models."""
    monkeypatch.setenv("FRAME_TTL_SECONDS", "60")
    with running_room(tmp_path, redis_url) as world:
        yield world


def stream(world: dict, url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "stream_camera", "--camera", str(world["camera"]),
         "--url", url, "--server", world["url"], *extra],
        cwd=ROOT, env=world["env"], capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def wait_for_view(world: dict, seconds: float = 240) -> dict:
    """The room view the worker keeps in Redis once it analysed a frame of the camera."""
    camera = Camera(pk=world["camera"], token=world["token"])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = frames.latest_view(camera)
        if found:
            return found[1]
        time.sleep(1)
    pytest.fail(f"no room frame analysed in {seconds} s: {frames.counted(camera, 'failed')} failed")


def test_a_video_file_streams_as_a_room_camera_and_the_worker_reads_the_room(
    room_stack, hall_video
):
    done = stream(room_stack, str(hall_video), "--fps", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f'streaming {hall_video} as camera {room_stack["camera"]} "Hall"')
    assert lines[1].startswith("frame 1 sent (1920x1080, ")
    assert lines[-1] == "done: 3 frames sent, 0 refused"  # the file's end ends the stream
    readings = wait_for_view(room_stack)
    assert (readings["width"], readings["height"]) == (1920, 1080)
    # Nobody of this exam has a face reference: every face is read, none is named.
    assert len(readings["faces"]) >= 25
    assert {face["student"] for face in readings["faces"]} == {None}


def test_a_network_stream_is_read_until_max_frames(room_stack, hall_video):
    """Over http, as from a network camera: read by its own thread, the newest frame sent."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(hall_video.parent)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{hall_video.name}"
        done = stream(room_stack, url, "--fps", "1", "--max-frames", "2")
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "done: 2 frames sent, 0 refused"


@pytest.mark.django_db
def test_clear_errors_for_an_unknown_camera_a_bad_url_and_a_server_down(exam, tmp_path):
    camera = Camera.objects.create(exam=exam, name="Front")
    with pytest.raises(CommandError, match="No room camera with id or token '999999'"):
        call_command("stream_camera", camera="999999", url="clip.mp4")
    with pytest.raises(CommandError, match="No video file at .*missing.mp4"):
        call_command("stream_camera", camera=str(camera.pk), url=str(tmp_path / "missing.mp4"))
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    with pytest.raises(CommandError, match="notes.mp4 is not a video OpenCV can read"):
        call_command("stream_camera", camera=str(camera.pk), url=str(not_video))
    closed = f"rtsp://127.0.0.1:{free_port()}/stream"
    with pytest.raises(CommandError, match=f"Cannot open {closed}"):
        call_command("stream_camera", camera=str(camera.pk), url=closed)
    video = tmp_path / "grey.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 1, (320, 240))
    writer.write(np.full((240, 320, 3), 128, np.uint8))
    writer.release()
    server = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError, match=f"Cannot reach {server}"):
        call_command("stream_camera", camera=str(camera.pk), url=str(video), server=server)
    camera.active = False
    camera.save()
    with pytest.raises(CommandError, match='Camera .* "Front" is switched off'):
        call_command("stream_camera", camera=camera.token, url=str(video))


@pytest.mark.django_db
def test_frames_refused_as_too_large_are_sent_smaller(exam, shared_data, tmp_path, monkeypatch):
    """A server whose body limit is below this camera's JPEGs (413): lower quality next."""
    from invigilation.rooms.management.commands import stream_camera  # noqa: PLC0415

    video = tmp_path / "still.avi"  # one hall frame, three times: every JPEG the same size
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 1, (1920, 1080))
    for image in hall_images(shared_data)[:1] * 3:
        writer.write(image)
    writer.release()
    images = list(stream_camera.file_frames(video, fps=1, loop=False))
    high = min(len(stream_camera.encode(image, 85, 3840)) for image in images)
    low = max(len(stream_camera.encode(image, 75, 3840)) for image in images)
    limit = (high + low) // 2
    assert low < limit < high
    sent: list[int] = []

    def post(client, jpeg: bytes) -> tuple[int, dict, dict]:
        if len(jpeg) > limit:
            return 413, {"detail": "The request body is larger than this address accepts."}, {}
        sent.append(len(jpeg))
        return 202, {"accepted": True, "queued": True}, {}

    monkeypatch.setattr(stream_camera._Client, "post", post)
    camera = Camera.objects.create(exam=exam, name="Front", frames_per_second=1)
    out, err = io.StringIO(), io.StringIO()
    call_command("stream_camera", camera=str(camera.pk), url=str(video), fps=5,
                 stdout=out, stderr=err)  # fmt: skip
    assert "frame refused (413)" in err.getvalue()
    assert "now sending JPEG quality 75, at most 3840 px wide" in err.getvalue()
    assert out.getvalue().splitlines()[-1] == "done: 2 frames sent, 1 refused"
    assert len(sent) == 2 and max(sent) <= low
