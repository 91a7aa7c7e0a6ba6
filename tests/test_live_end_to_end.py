"""The whole loop on real processes: ASGI server, Celery worker, Redis, models.

A student whose enrolment photo is someone else's streams a real webcam clip through
`simulate_student`; the invigilator's WebSocket must receive an identity-mismatch flag,
stored with its snapshot.
"""

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from invigilation.benchmarks.latency import login_cookie

ROOT = Path(__file__).resolve().parents[1]


def api_token(base: str, username: str, password: str) -> str:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token/", body) as response:
        return json.loads(response.read())["token"]


def upload_photo(base: str, token: str, name: str, data: bytes) -> dict:
    boundary = "----e2e-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{base}/api/students/upload-photos/", body,
        {"Authorization": f"Token {token}",
         "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    with urllib.request.urlopen(request) as response:
        report = json.loads(response.read())
    # The face checks run on the worker: what follows (a check-in) needs their verdict.
    for outcome in report["outcomes"]:
        if outcome.get("photo"):
            outcome["photo"] = wait_until_checked(base, token, outcome["photo"])
    return report


def wait_until_checked(base: str, token: str, photo: dict, timeout: float = 90) -> dict:
    """The photo's face check runs on the worker: wait for its verdict (the photo as the API
    gives it, `status` accepted or rejected)."""
    url = f"{base}/api/students/{photo['student']}/photos/{photo['id']}/"
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
        with urllib.request.urlopen(request) as response:
            photo = json.loads(response.read())
        if photo["status"] != "pending" or time.monotonic() > deadline:
            return photo
        time.sleep(0.5)


def receive_until_flag(socket, deadline: float) -> list[dict]:
    """Every message up to the first flag: the per-frame student status comes first."""
    messages = []
    while not messages or messages[-1]["type"] != "flag":
        messages.append(json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic()))))
    return messages


def test_identity_mismatch_reaches_the_invigilators_socket(stack, shared_data):
    base = stack["url"]
    someone_else = sorted((shared_data / "lfw-dev" / "images").glob("*/*.jpg"))[0]
    token = api_token(base, "boss", "pw-boss-1234")
    report = upload_photo(base, token, "S42.jpg", someone_else.read_bytes())
    assert report["succeeded"] == 1, report
    ws_url = base.replace("http", "ws") + f"/ws/exams/{stack['exam']}/alerts/"
    headers = {"Cookie": login_cookie(base, "watcher", "pw-watch-1234"), "Origin": base}
    with connect(ws_url, additional_headers=headers, open_timeout=10) as socket:
        student = subprocess.Popen(
            [sys.executable, "manage.py", "simulate_student", "--session", stack["token"],
             "--video", str(shared_data / "video" / "d13.mp4"), "--server", base,
             "--max-frames", "20"],
            cwd=ROOT, env=stack["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            messages = receive_until_flag(socket, deadline=time.monotonic() + 90)
        finally:
            student.kill()
            output = student.communicate()[0].decode()
    assert "checked in: not_verified (NOT verified)" in output, output
    statuses = [m["status"] for m in messages if m["type"] == "status"]
    checked = [s["identity_match"] for s in statuses if s["identity_match"] is not None]
    assert checked and not any(checked), statuses  # every identity check failed
    flag = messages[-1]["flag"]
    assert (flag["kind"], flag["student_number"], flag["session"]) == (
        "identity_mismatch", "S42", stack["session"],
    )  # fmt: skip
    snapshots = list((stack["media"] / "snapshots").rglob("*.jpg"))
    assert len(snapshots) == 1 and snapshots[0].stat().st_size > 5000
