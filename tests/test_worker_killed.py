"""A worker killed mid-frame: the frame is analysed once its task is delivered again, and
stores one frame record and raises one flag, not two (real Celery worker, real Redis).

Frames are put in Redis and their tasks queued as the ingestion endpoint does, on a queue of
this test's own; the worker runs on a SQLite file that this test reads back.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import cv2
import pytest

from invigilation.exams.models import ExamSession
from invigilation.proctoring import frames
from invigilation.proctoring.tasks import analyse_latest_frame

ROOT = Path(__file__).resolve().parents[1]
TTL = 120  # long enough for a frame to wait out a worker's restart

SETUP = """
import json, os
from datetime import timedelta
from pathlib import Path
from django.utils import timezone
from invigilation.exams.models import Exam
from invigilation.exams.services import enrol_students
from invigilation.students.models import Student
from invigilation.students.services import add_photo
now = timezone.now()
# One identity check that fails raises the flag: each frame here can raise at most one.
exam = Exam.objects.create(title="Kill", course="K1", starts_at=now,
                           ends_at=now + timedelta(hours=1), rule_thresholds={"mismatch_checks": 1})
someone_else = Path(os.environ["TEST_PHOTO"]).read_bytes()
students = [Student.objects.create(student_number=f"S{i}", full_name="A Student") for i in (1, 2)]
for student in students:
    add_photo(student=student, data=someone_else, check_inline=True)
print(json.dumps([[s.pk, s.token] for s in enrol_students(exam=exam, students=students)]))
"""


@pytest.fixture
def world(tmp_path, redis_url, shared_data, settings) -> dict:
    settings.FRAME_TTL_SECONDS = TTL
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "INVIGILATION_VAR_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
        "FRAME_TTL_SECONDS": str(TTL),
        "IDENTITY_CHECK_EVERY": "1",
        "IDENTITY_CHECK_EVERY_CLEAR": "1",
        # Unacknowledged tasks of a worker that died whole come back after 2 s (not an hour).
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "TEST_PHOTO": str(sorted((shared_data / "lfw-dev" / "images").glob("*/*.jpg"))[0]),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run([*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True)  # fmt: skip
    ids = json.loads(setup.stdout.strip().splitlines()[-1])
    ok, image = cv2.VideoCapture(str(shared_data / "video" / "d13.mp4")).read()
    assert ok
    scale = 640 / max(image.shape[:2])  # as the capture page sends it
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    workers: list[subprocess.Popen] = []
    yield {
        "queue": f"killed-{uuid.uuid4().hex[:8]}",  # no other test's tasks reach this worker
        "env": env,
        "db": tmp_path / "db.sqlite3",
        "log": tmp_path / "worker.log",
        "sessions": [ExamSession(pk=pk, token=token) for pk, token in ids],
        "frame": cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes(),
        "workers": workers,
    }
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def start_worker(world: dict) -> subprocess.Popen:
    log = world["log"]
    started = log.read_text().count(" ready.") if log.exists() else 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "invigilation.celery", "worker",
         "--concurrency", "1", "--pool", "prefork", "--without-gossip", "--without-mingle",
         "--without-heartbeat",
         "--loglevel", "info", "-Q", world["queue"], "--hostname", f"{uuid.uuid4().hex}@%h"],
        cwd=ROOT, env=world["env"], stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    world["workers"].append(worker)
    wait_for(lambda: log.read_text().count(" ready.") > started, 90, log)
    return worker


def wait_for(condition, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.002)


def queue_frame(world: dict, session: ExamSession) -> str:
    """What ingestion does with an accepted frame; returns the frame's idempotency key."""
    frame = frames.PendingFrame(world["frame"], time.time())
    assert frames.put_latest(session, frame)
    analyse_latest_frame.apply_async(args=[session.pk], expires=TTL, queue=world["queue"])
    return frame.frame_id


def taken(session: ExamSession) -> list[bytes]:
    """The frame a worker has taken and not yet finished with."""
    return list(frames.client().scan_iter(frames._key(session, "taken:*")))


def stored(world: dict, session: ExamSession) -> tuple[list[str], list[str]]:
    """The session's frame records (their frame ids) and flags (their kinds)."""
    with sqlite3.connect(world["db"]) as db:
        records = db.execute(
            "SELECT frame_id FROM proctoring_framerecord WHERE session_id = ?", [session.pk]
        ).fetchall()
        flags = db.execute(
            "SELECT kind FROM proctoring_flag WHERE session_id = ?", [session.pk]
        ).fetchall()
    return [r[0].replace("-", "") for r in records], [f[0] for f in flags]


def test_a_frame_survives_its_worker_being_killed_and_is_stored_once(world):
    log = world["log"]
    worker = start_worker(world)
    first, second = world["sessions"]

    # The pool process analysing the frame is killed (out of memory, a native crash...):
    # the worker starts a new one and the task, sent back to the queue, runs again.
    frame_id = queue_frame(world, first)
    wait_for(lambda: taken(first), 60, log)
    [pool_process] = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    os.kill(int(pool_process), signal.SIGKILL)
    assert stored(world, first) == ([], [])  # killed before it stored anything
    wait_for(lambda: stored(world, first)[0], 90, log)
    time.sleep(2)  # room for a second record or flag, were one to come
    assert stored(world, first) == ([frame_id], ["identity_mismatch"])
    assert not taken(first)  # deleted once analysed
    assert "WorkerLostError" in log.read_text()

    # The whole worker dies with a frame in hand (its machine lost): a new worker gets the
    # unacknowledged task after the visibility timeout, and the frame is still waiting.
    frame_id = queue_frame(world, second)
    wait_for(lambda: taken(second), 60, log)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    assert stored(world, second) == ([], [])
    time.sleep(3)  # past the visibility timeout
    start_worker(world)
    wait_for(lambda: stored(world, second)[0], 90, log)
    time.sleep(2)
    assert stored(world, second) == ([frame_id], ["identity_mismatch"])
    assert not taken(second)
