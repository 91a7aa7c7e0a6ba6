"""Stream a video file as one student, through the same public endpoints as the browser."""

import itertools
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from invigilation.exams.models import ExamSession


class Command(BaseCommand):
    help = (
        "Send a video's frames as a student's webcam: the identity check (a burst of its "
        "first frames), then frames at --fps."
    )

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
        if not no_check_in:
            self._check_in(client, video)
        frames = clip_frames(video, fps, loop)
        if self._stream(client, frames, fps, max_frames) and finish:
            self._finish(client)

    def _resolve(self, session: str) -> tuple[str, float | None]:
        if not session.isdigit():
            return session, None  # a token: the server checks it
        found = ExamSession.objects.select_related("exam").filter(pk=int(session)).first()
        if found is None:
            raise CommandError(f"No exam session with id {session}.")
        return found.token, found.exam.sampling_fps

    def _check_in(self, client: "_Client", video: Path) -> None:
        """The identity check as the capture page runs it: a burst of about
        CHECK_IN_BURST_SECONDS of frames at CHECK_IN_BURST_FPS, then the verdict, polled."""
        fps = settings.CHECK_IN_BURST_FPS
        count = max(settings.CHECK_IN_BURST_MIN_FRAMES, settings.CHECK_IN_BURST_SECONDS * fps)
        jpegs = list(itertools.islice(clip_frames(video, fps, loop=True), count))
        captured_at = [round(1000 * i / fps) for i in range(len(jpegs))]
        body, content_type = multipart_burst(jpegs, captured_at)
        status, accepted = client.post("/api/me/check-in/", body, content_type)
        if status != 202:
            raise CommandError(
                f"Identity check refused ({status}): {accepted.get('detail', accepted)}"
            )
        self.stdout.write(f"check-in burst sent: {len(jpegs)} frames")
        verdict = _wait_for(client, accepted["poll"])
        checked = {True: "verified", False: "NOT verified", None: "not checked"}
        self.stdout.write(
            f"checked in: {verdict['outcome']} ({checked[verdict.get('verified')]}), "
            f"attempts left {verdict.get('attempts_left')}"
        )
        self.stdout.write(verdict["message"])
        if not lets_student_go_on(verdict):
            raise CommandError(f"Identity check not passed: {verdict['outcome']}")

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

    def post(self, path: str, body: bytes, content_type: str = "image/jpeg") -> tuple[int, dict]:
        return self._send(urllib.request.Request(
            self.server + path, data=body, method="POST",
            headers={"Authorization": f"Session {self.token}", "Content-Type": content_type},
        ))  # fmt: skip

    def get(self, path: str) -> tuple[int, dict]:
        return self._send(urllib.request.Request(
            self.server + path, headers={"Authorization": f"Session {self.token}"}
        ))  # fmt: skip

    def _send(self, request: urllib.request.Request) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())
        except urllib.error.URLError as error:
            raise CommandError(f"Cannot reach {self.server}: {error.reason}") from error


# Verdicts after which the exam goes on (as on the capture page).
GO_ON = ("verified", "not_verified", "no_reference")


def lets_student_go_on(verdict: dict) -> bool:
    """The capture page's rule: streaming starts after these, or once no attempt is left."""
    return (
        verdict["outcome"] in GO_ON
        or verdict.get("attempts_left") == 0
        or (not verdict.get("retry") and verdict["outcome"] != "error")
    )


def _wait_for(client: "_Client", poll: str) -> dict:
    """The verdict of a check-in, asked for every 0.5 s (as the capture page does)."""
    deadline = time.monotonic() + settings.CHECK_IN_POLL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)
        status, body = client.get(poll)
        if status == 200 and body.get("status") == "done":
            return body
        if status not in (200, 429, 503):
            raise CommandError(f"Identity check lost ({status}): {body.get('detail', body)}")
    raise CommandError("No verdict on the identity check: the server took too long.")


def multipart_burst(jpegs: list[bytes], captured_at: list[float] | None) -> tuple[bytes, str]:
    """A check-in burst as the browser's FormData sends it: `frames` parts and `captured_at`."""
    boundary = uuid.uuid4().hex
    parts = [
        (f'--{boundary}\r\nContent-Disposition: form-data; name="frames"; '
         f'filename="frame-{i}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n').encode()
        + jpeg + b"\r\n"
        for i, jpeg in enumerate(jpegs)
    ]  # fmt: skip
    if captured_at is not None:
        parts.append(
            (f'--{boundary}\r\nContent-Disposition: form-data; name="captured_at"\r\n\r\n'
             f"{json.dumps(captured_at)}\r\n").encode()
        )  # fmt: skip
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:
        return {"detail": raw[:200].decode(errors="replace")}


def clip_frames(video: Path, fps: float, loop: bool) -> Iterator[bytes]:
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
