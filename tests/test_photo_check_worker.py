"""An enrolment photo uploaded to the running product is checked by its Celery worker: the
API answers at once with the photo pending, and the worker accepts it with an embedding."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from test_live_end_to_end import api_token

ROOT = Path(__file__).resolve().parents[1]


def _get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def _post_photo(url: str, token: str, data: bytes) -> tuple[int, dict, str]:
    boundary = "----photo-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="S42.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(url, body, {
        "Authorization": f"Token {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    })  # fmt: skip
    with urllib.request.urlopen(request) as response:
        return response.status, json.loads(response.read()), response.headers["Location"]


def test_an_uploaded_photo_is_accepted_by_the_worker_with_an_embedding(stack, shared_data):
    base = stack["url"]
    token = api_token(base, "boss", "pw-boss-1234")
    [student] = _get(f"{base}/api/students/?student_number=S42", token)["results"]
    face = sorted((shared_data / "lfw-dev" / "images").glob("*/*.jpg"))[0].read_bytes()
    started = time.monotonic()
    status, photo, location = _post_photo(f"{base}/api/students/{student['id']}/photos/", token,
                                          face)  # fmt: skip
    answered_in = time.monotonic() - started
    assert status == 202 and photo["status"] == "pending", photo
    assert answered_in < 5  # no face model in the request
    deadline = time.monotonic() + 90
    while photo["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.5)
        photo = _get(location, token)
    assert photo["status"] == "accepted", photo
    assert photo["status_text"] == "accepted" and photo["checked_at"]
    length = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from invigilation.students.models import EnrolmentPhoto as P; "
         f"print(len(bytes(P.objects.get(pk={photo['id']}).embedding)))"],
        cwd=ROOT, env=stack["env"], capture_output=True, text=True, check=True,
    ).stdout.split()[-1]  # fmt: skip
    assert int(length) == 128 * 4  # float32 x 128
