"""Stream a video file as one student, through the same public endpoints as the browser."""

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
from django.core.management.base import BaseCommand, CommandError

from invigilation.exams.models import ExamSession


class Command(BaseCommand):
    help = "Send a video's frames as a student's webcam: identity check, then frames at --fps."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--session", required=True, help="exam session id or token")
        parser.add_argument("--video", required=True, type=Path)
        parser.add_argument("--fps", type=float, help="frames per second (default: the exam's)")
        parser.add_argument("--server", default="http://127.0.0.1:8000")
        parser.add_argument("--loop", action="store_true", help="repeat the video until stopped")
        parser.add_argument("--max-frames", type=int, default=0, help="stop after N frames")
        parser.add_argument("--no-check-in", action="store_true")
        parser.add_argument(
            "--finish", action="store_true",
            help="press Finish when the video (or --max-frames) ends, as a student who is done",
        )  # fmt: skip

    def handle(self, *args, session: str, video: Path, fps, server: str, loop: bool,
               max_frames: int, no_check_in: bool, finish: bool, **options) -> None:  # fmt: skip
        token, exam_fps = self._resolve(session)
        fps = fps or exam_fps or 1.0
        if not video.is_file():
            raise CommandError(f"No video file at {video}.")
        client = _Client(server.rstrip("/"), token)
        frames = _frames(video, fps, loop)
        if not no_check_in:
            self._check_in(client, next(frames))
        if self._stream(client, frames, fps, max_frames) and finish:
            self._finish(client)

    def _resolve(self, session: str) -> tuple[str, float | None]:
        if not session.isdigit():
            return session, None  # a token: the server checks it
        found = ExamSession.objects.select_related("exam").filter(pk=int(session)).first()
        if found is None:
            raise CommandError(f"No exam session with id {session}.")
        return found.token, found.exam.sampling_fps

    def _check_in(self, client: "_Client", jpeg: bytes) -> None:
        status, body = client.post("/api/me/check-in/", jpeg)
        if status != 200:
            raise CommandError(f"Identity check refused ({status}): {body.get('detail', body)}")
        verdict = {True: "verified", False: "NOT verified", None: "not checked"}[body["verified"]]
        self.stdout.write(f"checked in: {verdict} (distance {body['verification_distance']})")
        self.stdout.write(body["message"])

    def _finish(self, client: "_Client") -> None:
        status, body = client.post("/api/me/finish/", b"")
        if status != 200:
            raise CommandError(f"Finish refused ({status}): {body.get('detail', body)}")
        self.stdout.write(f"finished at {body['finished_at']}")

    def _stream(self, client: "_Client", frames: Iterator[bytes], fps: float, limit: int) -> bool:
        """Send frames; False when the server stopped the stream (nothing left to finish)."""
        sent = refused = 0
        stopped = False
        next_at = time.monotonic()
        for jpeg in frames:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + 1 / fps, time.monotonic())
            status, body = client.post("/api/frames/", jpeg)
            if status == 202:
                sent += 1
            elif status in (401, 409):
                self.stdout.write(f"stopped by the server: {body.get('detail')}")
                stopped = True
                break
            else:
                refused += 1
                self.stderr.write(f"frame refused ({status}): {body.get('detail', body)}")
            if sent % 10 == 0 and status == 202:
                self.stdout.write(f"{sent} frames sent")
            if limit and sent + refused >= limit:
                break
        self.stdout.write(f"done: {sent} frames sent, {refused} refused")
        return not stopped


class _Client:
    def __init__(self, server: str, token: str) -> None:
        self.server, self.token = server, token

    def post(self, path: str, jpeg: bytes) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.server + path, data=jpeg, method="POST",
            headers={"Authorization": f"Session {self.token}", "Content-Type": "image/jpeg"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())
        except urllib.error.URLError as error:
            raise CommandError(f"Cannot reach {self.server}: {error.reason}") from error


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw[:200].decode(errors="replace")}


def _frames(video: Path, fps: float, loop: bool) -> Iterator[bytes]:
    """The video's frames at `fps`, scaled to a 640 px long side, as the browser sends them."""
    while True:
        capture = cv2.VideoCapture(str(video))
        if not capture.isOpened():
            raise CommandError(f"{video} is not a readable video.")
        step = max(1.0, (capture.get(cv2.CAP_PROP_FPS) or fps) / fps)
        index, next_index = 0, 0.0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            if index >= next_index:
                next_index += step
                yield _jpeg(image)
            index += 1
        capture.release()
        if not loop:
            return


def _jpeg(image) -> bytes:
    scale = 640 / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
