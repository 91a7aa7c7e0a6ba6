"""A check-in burst through the running product (`manage.py run`): the web server stores
the burst and answers 202, a real Celery worker judges it with the real face models, and the
poll returns the verdict; frames are accepted after it."""

import json
import time
import urllib.error
import urllib.request
from itertools import islice

from test_live_end_to_end import api_token, upload_photo

from invigilation.proctoring.management.commands.simulate_student import (
    clip_frames,
    multipart_burst,
)


def request(base: str, token: str, path: str, body=None, content_type=None):
    headers = {"Authorization": f"Session {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        with urllib.request.urlopen(
            urllib.request.Request(base + path, data=body, headers=headers), timeout=30
        ) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def check_in(base: str, token: str, jpegs: list[bytes]) -> tuple[dict, float]:
    """The verdict of a burst, and the seconds from the POST to it."""
    started = time.monotonic()
    body, content_type = multipart_burst(jpegs, [250 * i for i in range(len(jpegs))])
    status, accepted = request(base, token, "/api/me/check-in/", body, content_type)
    assert status == 202, accepted
    assert accepted["status"] == "pending" and accepted["poll"].endswith(
        f"/api/me/check-in/{accepted['check_in']}/"
    )
    while time.monotonic() < started + 180:
        status, verdict = request(base, token, accepted["poll"])
        assert status == 200, verdict
        if verdict["status"] == "done":
            return verdict, time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError("no verdict within 180 s")


def test_a_real_worker_judges_a_real_burst_and_the_poll_returns_the_verdict(stack, shared_data):
    base, token = stack["url"], stack["token"]
    # The clip's first 3 s at 4 frames/s, 640 px, as the capture page sends them.
    clip = list(islice(clip_frames(shared_data / "video" / "d13.mp4", 4, loop=False), 20))
    burst = clip[:12]

    verdict, _ = check_in(base, token, burst)
    assert verdict["outcome"] == "no_reference" and verdict["verified"] is None, verdict
    assert isinstance(verdict["message"], str) and verdict["message"]
    assert set(verdict) == {"status", "outcome", "verified", "message", "retry", "attempts_left"}
    # Checked in: frames are accepted now.
    assert request(base, token, "/api/frames/", clip[15], "image/jpeg")[0] == 202

    report = upload_photo(base, api_token(base, "boss", "pw-boss-1234"), "S42.jpg", clip[0])
    assert report["succeeded"] == 1, report
    verdict, seconds = check_in(base, token, burst)
    assert (verdict["outcome"], verdict["verified"]) == ("verified", True), verdict
    assert seconds < 60
