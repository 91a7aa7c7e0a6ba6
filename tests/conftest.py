"""Shared fixtures: real Redis (REDIS_URL, else an embedded redis-server) and domain data.

The database is whatever DATABASE_URL names (PostgreSQL in CI), else SQLite.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from invigilation.accounts.roles import ADMIN_GROUP
from invigilation.core.embedded_redis import EmbeddedRedis, free_port
from invigilation.exams.models import Exam, ExamSession
from invigilation.exams.services import assign_invigilator, enrol_students
from invigilation.students.models import Student

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets beside the repository (../shared/data); tests skip without them."""
    root = Path(os.environ.get("INVIGILATION_DATA_DIR", ROOT.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set INVIGILATION_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis().start()
    yield server.url
    server.stop()


@pytest.fixture(autouse=True)
def _real_redis(settings, redis_url: str) -> None:
    """Point Channels and Celery at the real Redis for every test."""
    from invigilation.celery import app as celery_app

    settings.REDIS_URL = redis_url
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": f"test-{os.getpid()}"},
        }
    }
    celery_app.conf.broker_url = celery_app.conf.result_backend = redis_url
    # Rate-limit counts never carry over from one test (or test run) to the next.
    settings.RATE_LIMIT_PREFIX = f"test-ratelimit-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _files(settings, tmp_path) -> None:
    """Media in a temporary folder; static files from the apps, with no collectstatic run."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.STATIC_ROOT = None
    settings.WHITENOISE_USE_FINDERS = True


@pytest.fixture
def exam_admin(db) -> User:
    user = User.objects.create_user("examadmin", password="pw-admin-123", is_staff=True)
    user.groups.add(Group.objects.get(name=ADMIN_GROUP))
    return user


@pytest.fixture
def make_exam(db):
    def make(title: str, **fields) -> Exam:
        now = timezone.now()
        defaults = {
            "course": "CS101",
            "starts_at": now - timedelta(minutes=5),
            "ends_at": now + timedelta(hours=2),
        }
        return Exam.objects.create(title=title, **{**defaults, **fields})

    return make


@pytest.fixture
def exam(make_exam) -> Exam:
    return make_exam("Algorithms")


@pytest.fixture
def other_exam(make_exam) -> Exam:
    return make_exam("Databases", course="CS202")


@pytest.fixture
def invigilator(exam) -> User:
    user = User.objects.create_user("invig", password="pw-invig-123")
    assign_invigilator(exam=exam, user=user)
    return user


@pytest.fixture
def other_invigilator(other_exam) -> User:
    user = User.objects.create_user("other", password="pw-other-123")
    assign_invigilator(exam=other_exam, user=user)
    return user


@pytest.fixture
def students(db) -> list[Student]:
    return [
        Student.objects.create(student_number="S001", full_name="Ada Lovelace"),
        Student.objects.create(student_number="S002", full_name="Alan Turing"),
        Student.objects.create(student_number="S003", full_name="Grace Hopper"),
    ]


@pytest.fixture
def sessions(exam, other_exam, students) -> dict[str, ExamSession]:
    """S001 and S002 sit `exam`; S003 sits `other_exam`."""
    enrol_students(exam=exam, students=students[:2])
    enrol_students(exam=other_exam, students=students[2:])
    return {s.student.student_number: s for s in ExamSession.objects.select_related("student")}


@pytest.fixture
def api_as():
    """An API client logged in as the given user (or anonymous)."""

    def client_for(user: User | None = None) -> APIClient:
        client = APIClient()
        if user:
            client.force_authenticate(user)
        return client

    return client_for


SETUP = """
import json
from datetime import timedelta
from django.contrib.auth.models import Group, User
from django.utils import timezone
from invigilation.accounts.roles import ADMIN_GROUP
from invigilation.exams.models import Exam
from invigilation.exams.services import assign_invigilator, enrol_students
from invigilation.rooms.models import Camera
from invigilation.students.models import Student
admin = User.objects.create_user("boss", password="pw-boss-1234", is_staff=True)
admin.groups.add(Group.objects.get(name=ADMIN_GROUP))
watcher = User.objects.create_user("watcher", password="pw-watch-1234")
now = timezone.now()
exam = Exam.objects.create(
    title="E2E", course="E2E1", starts_at=now, ends_at=now + timedelta(hours=1)
)
assign_invigilator(exam=exam, user=watcher)
student = Student.objects.create(student_number="S42", full_name="Proxy Victim")
session = enrol_students(exam=exam, students=[student])[0]
camera = Camera.objects.create(exam=exam, name="Front")
print(json.dumps({"exam": exam.pk, "session": session.pk, "token": session.token,
                  "camera": camera.pk, "camera_token": camera.token}))
"""


@pytest.fixture
def stack(tmp_path, redis_url):
    """The product running for real (`manage.py run`) on a fresh SQLite database, with an
    exam, an admin (boss), an invigilator (watcher) and an enrolled student S42 set up."""
    with running_product(tmp_path, redis_url, f"sqlite:///{tmp_path / 'db.sqlite3'}") as world:
        yield world


@pytest.fixture
def stack_on_test_database(tmp_path, redis_url):
    """`stack` on a scratch database of the kind DATABASE_URL names (PostgreSQL in CI, where
    some input errors only show), dropped afterwards; SQLite when DATABASE_URL is unset."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        with running_product(tmp_path, redis_url, f"sqlite:///{tmp_path / 'db.sqlite3'}") as w:
            yield w
        return
    import psycopg  # noqa: PLC0415 - only with PostgreSQL

    base = urllib.parse.urlsplit(url)
    name = f"invigilation_live_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = base._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        with running_product(tmp_path, redis_url, base._replace(path=f"/{name}").geturl()) as w:
            yield w
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_product(tmp_path: Path, redis_url: str, database_url: str) -> Iterator[dict]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "INVIGILATION_VAR_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
        "CHANNELS_PREFIX": f"e2e{os.getpid()}",
        # Rate-limit counts of an earlier run against the same Redis never carry over.
        "RATE_LIMIT_PREFIX": f"live-ratelimit-{uuid.uuid4().hex}",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run([*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True)  # fmt: skip
    ids = json.loads(setup.stdout.strip().splitlines()[-1])
    port = free_port()
    log = tmp_path / "run.log"
    server = subprocess.Popen(
        [*manage, "run", "--no-demo", "--port", str(port)], cwd=ROOT, env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "Press Ctrl-C to stop." not in log.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        # "pid": the `manage.py run` process; its children are the web server and the worker.
        yield {"url": f"http://127.0.0.1:{port}", "env": env, "media": tmp_path / "media",
               "pid": server.pid, **ids}  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
