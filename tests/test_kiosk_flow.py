"""The entrance kiosk, through the running product (`manage.py run`: web server and a real
Celery worker with the real face models): a burst of an enrolled student is identified among
the exam's enrolled (1:N), confirmed, and the student is checked in at their seat; the same
face again is "already checked in"; a stranger is "not enrolled"; an override by student
number runs a 1:1 check. And who may use it (in-process, no worker)."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from itertools import islice
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from test_live_end_to_end import api_token, upload_photo

from invigilation.exams.models import Attendance
from invigilation.kiosk.models import KioskAttempt
from invigilation.proctoring.management.commands.simulate_student import (
    clip_frames,
    multipart_burst,
)

ROOT = Path(__file__).resolve().parents[1]

SETUP = """
from invigilation.exams.models import Exam
from invigilation.exams.services import enrol_students
from invigilation.students.models import Student
exam = Exam.objects.get(pk={exam})
exam.seat_rows, exam.seat_columns, exam.mode, exam.room = 2, 3, "room", "Hall 1"
exam.save()
other = Student.objects.create(student_number="S43", full_name="Other Person")
session = enrol_students(exam=exam, students=[other])
exam.sessions.filter(student=other).update(assigned_seat="A1")
"""

STATE = """
import json
from invigilation.exams.models import Attendance
from invigilation.proctoring.models import Flag
print(json.dumps({{
    "attendance": {{a.session.student.student_number: [a.seat, a.verified, a.note]
                   for a in Attendance.objects.filter(session__exam={exam})}},
    "flags": sorted([f.kind, f.session.student.student_number if f.session_id else None]
                    for f in Flag.objects.filter(exam={exam})),
}}))
"""


def shell(stack: dict, code: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                          env=stack["env"], check=True, capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def call(base: str, token: str, path: str, body=None, content_type="application/json"):
    headers = {"Authorization": f"Token {token}", "Content-Type": content_type}
    request = urllib.request.Request(base + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def judged(base: str, token: str, exam: int, jpegs: list[bytes]) -> tuple[dict, float]:
    """A burst at the kiosk: its verdict, and the seconds from the POST to it."""
    started = time.monotonic()
    body, content_type = multipart_burst(jpegs, None)
    status, accepted = call(base, token, f"/api/exams/{exam}/kiosk/bursts/", body, content_type)
    assert status == 202, accepted
    return poll(base, token, accepted["poll"]), time.monotonic() - started


def poll(base: str, token: str, url: str) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status, attempt = call(base, token, url)
        assert status == 200, attempt
        if attempt["status"] == "done":
            return attempt
        time.sleep(0.2)
    raise AssertionError("no verdict within 180 s")


def burst(shared_data, clip: str, skip: int = 12) -> list[bytes]:
    """3 s at 4 frames/s from `skip` frames in (the head turns: a live face), 640 px."""
    return list(islice(clip_frames(shared_data / "video" / clip, 4, loop=False), skip, skip + 12))


def test_the_kiosk_with_a_real_worker(stack, shared_data):
    base, exam = stack["url"], stack["exam"]
    shell(stack, SETUP.format(exam=exam))
    admin = api_token(base, "boss", "pw-boss-1234")
    for name, clip in (("S42.jpg", "d9.mp4"), ("S43.jpg", "d13.mp4")):
        photo = next(clip_frames(shared_data / "video" / clip, 4, loop=False))
        assert upload_photo(base, admin, name, photo)["succeeded"] == 1
    token = api_token(base, "watcher", "pw-watch-1234")
    enrolled = burst(shared_data, "d9.mp4")

    # An enrolled student steps up: identified among the enrolled, with the seat to take
    # (A1 is S43's, pre-assigned: S42 gets the next free seat).
    attempt, seconds = judged(base, token, exam, enrolled)
    assert attempt["outcome"] == "match", attempt
    assert attempt["student"]["number"] == "S42" and attempt["student"]["photo_url"]
    assert attempt["seat"] == "A2" and attempt["verified"] is True
    assert attempt["distance"] < 0.6 and attempt["counts"] == {"checked_in": 0, "expected": 2}
    print(f"\nkiosk burst -> verdict (real worker, HTTP and polling): {seconds:.2f} s, "
          f"worker {attempt['judge_ms']:.0f} ms")  # fmt: skip

    started = time.monotonic()
    status, confirmed = call(base, token, f"/api/kiosk/attempts/{attempt['id']}/confirm/", b"")
    print(f"confirm (Enter) -> checked in: {time.monotonic() - started:.2f} s")
    assert status == 200, confirmed
    assert confirmed["seat"] == "A2" and confirmed["attempt"]["decision"] == "confirmed"
    assert confirmed["attempt"]["counts"]["checked_in"] == 1
    # A decision is final.
    again = call(base, token, f"/api/kiosk/attempts/{attempt['id']}/confirm/", b"")
    assert again[0] == 409

    # The same student again: "already checked in", an alert on the dashboard.
    repeat, _ = judged(base, token, exam, enrolled)
    assert repeat["outcome"] == "already_checked_in" and "seat A2" in repeat["message"], repeat
    assert call(base, token, f"/api/kiosk/attempts/{repeat['id']}/confirm/", b"")[0] == 409

    # A stranger: nobody of the exam matches.
    stranger, _ = judged(base, token, exam, burst(shared_data, "d6.mp4"))
    assert stranger["outcome"] == "not_enrolled" and stranger["student"] is None, stranger

    # The invigilator types a number: checked against that student alone (1:1). Not them:
    # recorded as not verified, and the invigilator may still confirm (ID card checked).
    body = json.dumps({"student_number": "S43"}).encode()
    status, typed = call(base, token, f"/api/kiosk/attempts/{stranger['id']}/override/", body)
    assert status == 202, typed
    typed = poll(base, token, f"/api/kiosk/attempts/{typed['id']}/")
    assert typed["method"] == "verify" and typed["outcome"] == "not_verified", typed
    assert typed["verified"] is False and typed["distance"] > 0.6 and typed["seat"] == "A1"
    status, confirmed = call(base, token, f"/api/kiosk/attempts/{typed['id']}/confirm/", b"")
    assert status == 200 and confirmed["seat"] == "A1", confirmed

    state = json.loads(shell(stack, STATE.format(exam=exam)))
    s42, s43 = state["attendance"]["S42"], state["attendance"]["S43"]
    assert s42[:2] == ["A2", True] and "identified among the enrolled" in s42[2]
    assert "confirmed by watcher" in s42[2]
    assert s43[:2] == ["A1", False] and "did NOT match" in s43[2]
    assert state["flags"] == [
        ["already_checked_in", "S42"], ["no_match", "S43"], ["not_enrolled", None]
    ], state["flags"]  # fmt: skip


# Who may use it: in-process, no worker needed.


@pytest.fixture
def stranger_user(db) -> User:
    return User.objects.create_user("nobody", password="pw-nobody-123")


def test_only_the_exams_invigilators_open_the_kiosk(
    client, exam, invigilator, other_invigilator, stranger_user
):
    url = f"/exams/{exam.pk}/kiosk/"
    assert client.get(url).status_code == 302 and "login" in client.get(url)["Location"]
    for user in (other_invigilator, stranger_user):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(invigilator)
    page = client.get(url)
    assert page.status_code == 200 and b'id="kiosk"' in page.content
    assert client.get("/exams/999999/kiosk/").status_code == 404


def test_the_kiosk_api_refuses_anyone_else(api_as, exam, sessions, invigilator, other_invigilator):
    attempt = KioskAttempt.objects.create(
        exam=exam, attempted_at=exam.starts_at, outcome=KioskAttempt.Outcome.MATCH,
        session=sessions["S001"],
    )  # fmt: skip
    paths = [f"/api/exams/{exam.pk}/kiosk/bursts/", f"/api/kiosk/attempts/{attempt.pk}/confirm/",
             f"/api/kiosk/attempts/{attempt.pk}/reject/",
             f"/api/kiosk/attempts/{attempt.pk}/override/"]  # fmt: skip
    for path in paths:
        assert api_as(None).post(path).status_code == 401
        assert api_as(other_invigilator).post(path).status_code == 403
    assert api_as(other_invigilator).get(f"/api/kiosk/attempts/{attempt.pk}/").status_code == 403
    assert not Attendance.objects.exists()
    # The exam's own invigilator: a refused burst says why, not 403.
    refused = api_as(invigilator).post(paths[0], {}, format="multipart")
    assert refused.status_code == 400 and "frames" in refused.json()["detail"]
    status = api_as(invigilator).get(f"/api/kiosk/attempts/{attempt.pk}/")
    assert status.status_code == 200 and status.json()["student"]["number"] == "S001"
