"""Stream a video file or a network camera as a room camera, through the same endpoint as the
camera page. A file is sent once, from start to end (`--loop` repeats it); a network stream
(http, https, rtsp) runs until stopped, reconnecting with backoff when it drops."""

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from invigilation.rooms.ingest import max_bytes, max_side
from invigilation.rooms.models import Camera

NETWORK_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
QUALITIES = (85, 75, 65, 55)  # JPEG qualities tried, the next one after a frame too large
MAX_BACKOFF = 30.0
FULL_HD = 1920


class Command(BaseCommand):
    help = (
        "Send a room camera's frames to the server: from a video file, or from a network "
        "camera (rtsp:// or http:// URL), at --fps."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--camera", required=True, help="the room camera's id or token")
        parser.add_argument("--url", required=True, help="a video file, or an rtsp/http URL")
        parser.add_argument("--fps", type=float, help="frames per second (default: the camera's)")
        parser.add_argument("--server", default="http://127.0.0.1:8000")
        parser.add_argument("--max-frames", type=int, default=0, help="stop after N frames")
        parser.add_argument("--loop", action="store_true", help="repeat a video file")

    def handle(self, *args, camera: str, url: str, fps: float | None, server: str,
               max_frames: int, loop: bool, **options) -> None:  # fmt: skip
        found = _camera(camera)
        fps = fps or found.frames_per_second
        if not 0 < fps <= 5:
            raise CommandError("--fps must be more than 0 and at most 5.")
        client = _Client(server.rstrip("/"), found.token)
        network = url.lower().startswith(NETWORK_SCHEMES)
        if not network and not Path(url).is_file():
            raise CommandError(f"No video file at {url} (or give an rtsp:// or http:// URL).")
        path = Path(url)
        source = LiveFrames(url, self.stderr.write) if network else file_frames(path, fps, loop)
        self.stdout.write(
            f'streaming {url} as camera {found.pk} "{found.name}" ({found.exam}) to {server} '
            f"at {fps:g} fps"
        )
        try:
            sent, refused = self._stream(client, source, fps, max_frames)
        finally:
            if isinstance(source, LiveFrames):
                source.stop()
        self.stdout.write(f"done: {sent} frames sent, {refused} refused")

    def _stream(
        self, client: "_Client", source: Iterable[np.ndarray], fps: float, limit: int
    ) -> tuple[int, int]:
        """Send frames at `fps`; (sent, refused)."""
        sent = refused = 0
        quality, long_side = 0, max_side()  # lowered while the server says "too large"
        backoff = 0.0
        next_at = time.monotonic()
        for image in source:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + 1 / fps, time.monotonic())
            jpeg = encode(image, QUALITIES[quality], long_side)
            try:
                status, body, headers = client.post(jpeg)
            except OSError as error:
                if sent + refused == 0:  # the server was never reached: say so and stop
                    raise CommandError(f"Cannot reach {client.server}: {error}") from error
                backoff = min(backoff * 2 or 1.0, MAX_BACKOFF)
                self.stderr.write(f"server unreachable ({error}); retrying in {backoff:.0f} s")
                next_at = time.monotonic() + backoff
                continue
            backoff = 0.0
            if status == 202:
                sent += 1
                size = f"{image.shape[1]}x{image.shape[0]}, {len(jpeg) // 1024} KB"
                queued = "queued" if body.get("queued") else "replaced a waiting frame"
                self.stdout.write(f"frame {sent} sent ({size}, {queued})")
            elif status in (401, 409):
                raise CommandError(f"Stopped by the server ({status}): {body.get('detail')}")
            elif status == 429:
                refused += 1
                wait = float(headers.get("Retry-After") or 1)
                self.stderr.write(f"frame refused (429, too fast): waiting {wait:g} s")
                next_at = time.monotonic() + wait
            else:
                refused += 1
                self.stderr.write(f"frame refused ({status}): {body.get('detail', body)}")
                if status == 413:  # the server's size limit: smaller JPEGs from now on
                    quality, long_side = smaller(quality, long_side)
                    self.stderr.write(f"now sending JPEG quality {QUALITIES[quality]}, at most "
                                      f"{long_side} px wide")  # fmt: skip
            if limit and sent + refused >= limit:
                break
        return sent, refused


def _camera(key: str) -> Camera:
    cameras = Camera.objects.select_related("exam")
    found = cameras.filter(pk=int(key)).first() if key.isdigit() else None
    found = found or cameras.filter(token=key).first()
    if found is None:
        raise CommandError(f"No room camera with id or token {key!r}.")
    if not found.active:
        raise CommandError(f'Camera {found.pk} "{found.name}" is switched off (not active).')
    return found


def smaller(quality: int, long_side: int) -> tuple[int, int]:
    """After a frame refused as too large: a lower JPEG quality first (the room's small faces
    keep their pixels), then full HD at most."""
    if quality + 1 < len(QUALITIES):
        return quality + 1, long_side
    return quality, min(long_side, FULL_HD)


def encode(image: np.ndarray, quality: int, long_side: int) -> bytes:
    """A JPEG of the frame at its own resolution, scaled down only past `long_side` px; at the
    given quality, and lower still if it would not fit the server's size limit."""
    scale = long_side / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for tried in (quality, *(q for q in QUALITIES if q < quality)):
        jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, tried])[1].tobytes()
        if len(jpeg) <= max_bytes():
            break
    return jpeg


def file_frames(video: Path, fps: float, loop: bool) -> Iterator[np.ndarray]:
    """The file's frames at `fps` of its own time, from the start to the end (again with
    `loop`)."""
    while True:
        capture = cv2.VideoCapture(str(video))
        if not capture.isOpened():
            raise CommandError(f"{video} is not a video OpenCV can read.")
        step = max(1.0, (capture.get(cv2.CAP_PROP_FPS) or fps) / fps)
        index, next_index, any_frame = 0, 0.0, False
        while True:
            ok, image = capture.read()
            if not ok:
                break
            any_frame = True
            if index >= next_index:
                next_index += step
                yield image
            index += 1
        capture.release()
        if not any_frame:
            raise CommandError(f"{video} has no frame OpenCV can decode.")
        if not loop:
            return


class LiveFrames:
    """A network camera's latest frame. A thread reads the stream as fast as it comes (a
    camera's buffer would otherwise hand out frames seconds old) and reconnects with backoff
    when the stream drops; iterating yields the newest frame not yet yielded."""

    def __init__(self, url: str, log: Callable[[str], object]) -> None:
        self.url, self.log = url, log
        self._latest: np.ndarray | None = None
        self._fresh = threading.Condition()
        self._stopped = threading.Event()
        capture = cv2.VideoCapture(url)
        if not capture.isOpened():
            raise CommandError(f"Cannot open {url}: no stream there, or OpenCV cannot read it.")
        self._thread = threading.Thread(target=self._read, args=(capture,), daemon=True)
        self._thread.start()

    def _read(self, capture: cv2.VideoCapture) -> None:
        backoff = 0.0
        while not self._stopped.is_set():
            ok, image = capture.read()
            if ok:
                backoff = 0.0
                with self._fresh:
                    self._latest = image
                    self._fresh.notify_all()
                continue
            capture.release()
            backoff = min(backoff * 2 or 1.0, MAX_BACKOFF)
            self.log(f"stream lost; reconnecting to {self.url} in {backoff:.0f} s")
            if self._stopped.wait(backoff):
                return
            capture = cv2.VideoCapture(self.url)
        capture.release()

    def __iter__(self) -> Iterator[np.ndarray]:
        while not self._stopped.is_set():
            with self._fresh:
                self._fresh.wait_for(lambda: self._latest is not None or self._stopped.is_set())
                image, self._latest = self._latest, None
            if image is not None:
                yield image

    def stop(self) -> None:
        self._stopped.set()
        with self._fresh:
            self._fresh.notify_all()


class _Client:
    def __init__(self, server: str, token: str) -> None:
        self.server, self.token = server, token

    def post(self, jpeg: bytes) -> tuple[int, dict, dict]:
        """(status, JSON body, headers); OSError when the server cannot be reached."""
        request = urllib.request.Request(
            self.server + reverse("camera-frame-ingest"), data=jpeg, method="POST",
            headers={"Authorization": f"Camera {self.token}", "Content-Type": "image/jpeg"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read()), dict(error.headers)
        except urllib.error.URLError as error:
            raise OSError(str(error.reason)) from error


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw[:200].decode(errors="replace")}
