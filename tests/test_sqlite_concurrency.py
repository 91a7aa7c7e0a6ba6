"""The default SQLite setup loses no work: students stream through a real Celery worker while
staff log in, review flags and export reports against the same database file.

Every frame the server accepted (202) must end up either analysed (a frame record) or
counted as dropped by design (replaced or expired unanalysed), and the worker's log must show
no failed task (before WAL and IMMEDIATE transactions, "database is locked" lost frames).
"""

import json
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from invigilation.benchmarks.latency import login_cookie
from invigilation.exams.models import ExamSession
from invigilation.proctoring import frames

ROOT = Path(__file__).resolve().parents[1]
STREAM_SECONDS = 25
FPS = 2

SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from invigilation.exams.models import Exam
from invigilation.exams.services import check_in, enrol_students
from invigilation.students.models import Student
now = timezone.now()
exam = Exam.objects.create(title="Busy", course="B1", starts_at=now, sampling_fps=2,
                           ends_at=now + timedelta(hours=1), rule_thresholds={"no_face_seconds": 2})
students = [Student.objects.create(student_number=f"B{i}", full_name="A Student") for i in range(4)]
sessions = enrol_students(exam=exam, students=students)
for session in sessions:
    check_in(session=session, verified=None)
print(json.dumps({"exam": exam.pk, "sessions": [[s.pk, s.token] for s in sessions]}))
"""


def _post(url: str, data: bytes | None, headers: dict) -> int:
    request = urllib.request.Request(url, data, headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _jpeg(seed: int) -> bytes:
    noise = np.random.default_rng(seed).integers(60, 200, (480, 640, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", noise, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()


def _stream(base: str, token: str, accepted: list, stop: threading.Event) -> None:
    headers = {"Authorization": f"Session {token}", "Content-Type": "image/jpeg"}
    seed = 0
    while not stop.is_set():
        seed += 1
        if _post(f"{base}/api/frames/", _jpeg(seed), headers) == 202:
            accepted.append(seed)
        time.sleep(1 / FPS)


def _staff(base: str, exam: int, stop: threading.Event, done: list) -> None:
    """Log in again and again, review every open flag, export the reports."""
    while not stop.is_set():
        cookie = login_cookie(base, "boss", "pw-boss-1234")
        token = _token(base)
        flags = _get_json(f"{base}/api/flags/?exam={exam}&review_state=open", token)
        for flag in flags["results"][:3]:
            body = json.dumps({"state": "dismissed", "note": "seen"}).encode()
            headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
            done.append(_post(f"{base}/api/flags/{flag['id']}/review/", body, headers))
        for export in ("report/flags.csv", "report/attendance.csv", "report/"):
            done.append(_post(f"{base}/exams/{exam}/{export}", None, {"Cookie": cookie}))


def _token(base: str) -> str:
    body = b"username=boss&password=pw-boss-1234"
    with urllib.request.urlopen(f"{base}/api/auth/token/", body, timeout=30) as response:
        return json.loads(response.read())["token"]


def _get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _analysed(db: Path) -> dict[int, int]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT session_id, COUNT(*) FROM proctoring_framerecord GROUP BY session_id"
        ).fetchall()
    return dict(rows)


def test_no_frame_is_lost_while_staff_work(stack, tmp_path):
    base = stack["url"]
    setup = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=stack["env"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    world = json.loads(setup.stdout.strip().splitlines()[-1])
    sessions = [ExamSession(pk=pk, token=token) for pk, token in world["sessions"]]
    accepted = {session.pk: [] for session in sessions}
    stop, staff_requests = threading.Event(), []
    threads = [
        threading.Thread(target=_stream, args=(base, s.token, accepted[s.pk], stop))
        for s in sessions
    ] + [threading.Thread(target=_staff, args=(base, world["exam"], stop, staff_requests))]
    for thread in threads:
        thread.start()
    time.sleep(STREAM_SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    def unaccounted() -> dict[int, int]:
        analysed = _analysed(tmp_path / "db.sqlite3")
        return {
            s.pk: len(accepted[s.pk]) - analysed.get(s.pk, 0) - frames.dropped_frames(s)
            for s in sessions
        }

    deadline = time.monotonic() + 60
    while any(unaccounted().values()) and time.monotonic() < deadline:
        time.sleep(1)
    log = (tmp_path / "run.log").read_text()
    assert "database is locked" not in log
    assert "raised unexpected" not in log  # Celery's line for a failed task
    # The console stays quiet: no line per request or per task (LOG_LEVEL=INFO brings them).
    assert '"POST /api/frames/"' not in log and "analyse_latest_frame" not in log
    assert all(len(sent) >= STREAM_SECONDS for sent in accepted.values()), accepted
    assert unaccounted() == dict.fromkeys(accepted, 0)
    assert staff_requests and set(staff_requests) == {200}, staff_requests
