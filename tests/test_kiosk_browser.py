"""The entrance kiosk in a real browser (Debian's Chromium), its camera a clip of an enrolled
student (d9.mp4, converted to a fake-camera file at test time), against the running product
with a real worker: the page starts the camera, Space captures a burst, the student's name,
photo and seat show, Enter checks them in, and the attendance is recorded with the seat.
Screenshots go to $E2E_ARTIFACTS (default var/e2e-artifacts)."""

import json
from itertools import islice

import pytest
from test_browser_end_to_end import CHROMIUM, artifacts, browser, login  # noqa: F401 - fixtures
from test_kiosk_flow import shell
from test_live_end_to_end import api_token, upload_photo

from invigilation.proctoring.management.commands.simulate_student import clip_frames

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")

SEAT_PLAN = """
from invigilation.exams.models import Exam
Exam.objects.filter(pk={exam}).update(seat_rows=4, seat_columns=5, mode="room", room="Hall 1")
"""
ATTENDANCE = """
import json
from invigilation.exams.models import Attendance
print(json.dumps([[a.session.student.student_number, a.seat, a.verified, a.note]
                  for a in Attendance.objects.filter(session__exam={exam})]))
"""


def test_the_kiosk_checks_in_an_enrolled_student_in_the_browser(
    stack,
    browser,  # noqa: F811 - the fixture imported above
    artifacts,  # noqa: F811 - the fixture imported above
    shared_data,
):
    base, exam = stack["url"], stack["exam"]
    shell(stack, SEAT_PLAN.format(exam=exam))
    # S42 enrolled from the clip's first frame; the camera plays the clip from 3 s in.
    photo = next(islice(clip_frames(shared_data / "video" / "d9.mp4", 4, loop=False), 1))
    admin = api_token(base, "boss", "pw-boss-1234")
    assert upload_photo(base, admin, "S42.jpg", photo)["succeeded"] == 1

    page = browser("d9.mp4", start=90)
    login(page, base, "watcher", "pw-watch-1234")
    page.goto(f"{base}/exams/{exam}/kiosk/")
    page.wait_for_function("document.getElementById('preview').videoWidth > 0", timeout=30000)
    sync_api.expect(page.locator("#count-expected")).to_have_text("1")
    page.uncheck("#auto-capture")  # the test presses Space itself
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Space")
    result = page.locator("#result")
    sync_api.expect(result).to_have_attribute("data-outcome", "match", timeout=90000)
    sync_api.expect(page.locator("#result-name")).to_have_text("Proxy Victim")
    sync_api.expect(page.locator("#result-number")).to_have_text("S42")
    sync_api.expect(page.locator("#result-seat-label")).to_have_text("A1")
    sync_api.expect(page.locator("#result-photo")).to_be_visible()
    assert "distance 0." in page.locator("#result-distance").inner_text()
    page.screenshot(path=artifacts / "kiosk-1-identified.png")

    page.keyboard.press("Enter")
    sync_api.expect(result).to_have_attribute("data-decision", "confirmed", timeout=15000)
    sync_api.expect(page.locator("#result-message")).to_contain_text("take seat A1")
    sync_api.expect(page.locator("#count-checked-in")).to_have_text("1")
    page.screenshot(path=artifacts / "kiosk-2-confirmed.png")

    [(number, seat, verified, note)] = json.loads(shell(stack, ATTENDANCE.format(exam=exam)))
    assert (number, seat, verified) == ("S42", "A1", True)
    assert "confirmed by watcher" in note
    # The kiosk is ready for the next candidate.
    sync_api.expect(result).to_have_attribute("data-outcome", "idle", timeout=10000)
