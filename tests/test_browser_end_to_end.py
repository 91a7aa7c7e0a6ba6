"""In a real browser (Debian's Chromium, fake camera fed from a real clip), end to end:
admin enrols a student's photo, the invigilator watches, the student checks in and streams,
then someone else takes over the student's session; the identity-mismatch alert appears on
the dashboard, the invigilator confirms it, and the report shows it. Screenshots of each
step go to $E2E_ARTIFACTS (default var/e2e-artifacts)."""

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/lib/chromium/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")


def y4m_from_clip(
    video: Path, out: Path, frames: int = 150, still: bool = False, start: int = 0
) -> Path:
    """A looping fake-camera file (YUV4MPEG2, 4:2:0) from a real clip, 640x480 letterboxed;
    `still`: its first frame only, over and over (a photo held up to the camera). Played at
    the clip's own rate, so the check-in burst sees the head move as fast as it did."""
    capture = cv2.VideoCapture(str(video))
    fps = round(capture.get(cv2.CAP_PROP_FPS) or 15)
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    first = None
    with out.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            ok, image = (True, first) if still and first is not None else capture.read()
            if not ok:
                break
            first = image
            scale = min(640 / image.shape[1], 480 / image.shape[0])
            small = cv2.resize(image, None, fx=scale, fy=scale)
            canvas = cv2.copyMakeBorder(
                small, 0, 480 - small.shape[0], 0, 640 - small.shape[1], cv2.BORDER_CONSTANT
            )
            handle.write(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Emptied once per run: every test's screenshots stay side by side."""
    folder = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "var" / "e2e-artifacts"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def browser(shared_data, tmp_path):
    """Launches Chromium with a given clip as its camera; closes them all at the end."""
    contexts = []
    with sync_api.sync_playwright() as playwright:

        def launch(clip: str | None = None, still: bool = False, start: int = 0):
            args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
            if clip:
                camera = y4m_from_clip(
                    shared_data / "video" / clip, tmp_path / f"{clip}-{still}-{start}.y4m",
                    still=still, start=start,
                )  # fmt: skip
                args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                         f"--use-file-for-fake-video-capture={camera}"]  # fmt: skip
            context = playwright.chromium.launch_persistent_context(
                tempfile.mkdtemp(dir=tmp_path), executable_path=str(CHROMIUM), headless=True,
                args=args, viewport={"width": 1280, "height": 860},
            )  # fmt: skip
            contexts.append(context)
            return context.new_page()

        yield launch
        for context in contexts:
            context.close()


def login(page, base: str, username: str, password: str, path: str = "/accounts/login/"):
    page.goto(base + path)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("[type=submit]").first.click()


def test_proxy_test_taker_is_caught_in_the_browser(stack, browser, artifacts, shared_data):
    base, exam = stack["url"], stack["exam"]
    capture = cv2.VideoCapture(str(shared_data / "video" / "d9.mp4"))
    ok, face = capture.read()
    photos = artifacts / "photos.zip"
    with zipfile.ZipFile(photos, "w") as archive:
        archive.writestr("S42.jpg", cv2.imencode(".jpg", face)[1].tobytes())

    admin = browser()
    login(admin, base, "boss", "pw-boss-1234", "/admin/login/")
    admin.goto(base + "/admin/students/student/upload-photos/")
    admin.set_input_files("input[name=files]", str(photos))
    admin.click("input[type=submit]")
    sync_api.expect(admin.locator("#import-report")).to_contain_text("added to S42")
    # The face check runs on the worker; the report's Face check column updates by itself.
    sync_api.expect(admin.locator("#import-report .photo-status")).to_have_text(
        "accepted", timeout=60000
    )
    admin.screenshot(path=artifacts / "1-admin-enrols-photo.png", full_page=True)

    dashboard = browser()
    login(dashboard, base, "watcher", "pw-watch-1234")
    dashboard.goto(f"{base}/exams/{exam}/")
    sync_api.expect(dashboard.locator("#live-state")).to_have_text("live", timeout=15000)
    dashboard.screenshot(path=artifacts / "2-dashboard-live.png")

    # From 3 s in: the student turns their head during the burst (the clip's start is still).
    student = browser("d9.mp4", start=90)
    capture_url = f"{base}/capture/{stack['token']}/"
    student.goto(capture_url + "system-check/")
    student.click("#run-check")
    for check in ("camera", "face", "upload"):
        sync_api.expect(student.locator(f'[data-check="{check}"] .badge')).to_have_text(
            "ok", timeout=30000
        )
    student.screenshot(path=artifacts / "3a-student-system-check.png")
    student.goto(capture_url)
    student.check("#consent")
    student.click("#start-camera")
    student.wait_for_function("document.getElementById('preview').videoWidth > 0")
    student.click("#check-in")
    # The burst: the instruction and the progress show while it records.
    sync_api.expect(student.locator("#burst-instruction")).to_contain_text(
        "turn your head slowly left and right, and blink"
    )
    student.screenshot(path=artifacts / "3b-student-burst.png")
    result = student.locator("#check-in-result")
    sync_api.expect(result).to_have_attribute("data-outcome", "verified", timeout=90000)
    sync_api.expect(student.locator("#state")).to_contain_text("sending", timeout=30000)
    student.screenshot(path=artifacts / "3-student-verified-streaming.png")
    sync_api.expect(dashboard.locator(".student [data-status]")).to_have_text(
        "active", timeout=20000
    )
    # The check-in's result reached the dashboard without a reload.
    sync_api.expect(dashboard.locator(".student")).to_contain_text("verified")
    student.context.close()  # the student leaves; someone else takes the session over

    impostor = browser("d6.mp4")
    impostor.goto(capture_url)
    impostor.check("#consent")
    impostor.click("#start-camera")
    impostor.wait_for_function("document.getElementById('preview').videoWidth > 0")
    impostor.click("#check-in")
    sync_api.expect(impostor.locator("#check-in-result")).to_have_attribute(
        "data-outcome", "not_verified", timeout=90000
    )
    sync_api.expect(impostor.locator("#state")).to_contain_text("sending", timeout=30000)
    impostor.screenshot(path=artifacts / "4-impostor-streaming.png")

    alert = dashboard.locator("#alerts li", has_text="Identity mismatch")
    sync_api.expect(alert).to_be_visible(timeout=60000)
    dashboard.screenshot(path=artifacts / "5-dashboard-alert.png")
    # The impostor finishes: the camera stops, the page says so, the dashboard shows it.
    impostor.on("dialog", lambda dialog: dialog.accept())
    impostor.click("#finish")
    sync_api.expect(impostor.locator("#step-finished")).to_be_visible(timeout=10000)
    impostor.screenshot(path=artifacts / "4b-impostor-finished.png")
    sync_api.expect(dashboard.locator(".student [data-status]")).to_have_text(
        "finished", timeout=10000
    )
    alert.click()  # the note and the buttons are on the selected alert only
    sync_api.expect(alert.locator("img")).to_have_count(2)  # snapshot beside the photo
    alert.locator("input.note").fill("Not the enrolled student: compared with the photo")
    alert.locator("button.confirmed").click()
    sync_api.expect(alert).to_have_class("sev-3 state-confirmed fresh", timeout=10000)
    dashboard.screenshot(path=artifacts / "6-dashboard-confirmed.png")

    dashboard.goto(f"{base}/exams/{exam}/report/")
    # Confirmed: flagged, unless another flag of theirs is still open (then: to review).
    flagged = int(dashboard.locator("#count-flagged").inner_text())
    to_review = int(dashboard.locator("#count-to-review").inner_text())
    assert (flagged, to_review) in {(1, 0), (0, 1)}
    evidence = dashboard.locator(".evidence li", has_text="Identity mismatch")
    sync_api.expect(evidence).to_contain_text("Confirmed")
    sync_api.expect(evidence.locator("img")).to_have_count(2)  # snapshot beside the photo
    dashboard.screenshot(path=artifacts / "7-report.png", full_page=True)


def test_a_still_photo_held_to_the_camera_is_not_a_live_face(
    stack, browser, artifacts, shared_data
):
    """The enrolment photo itself as the camera: the burst shows no live face, and the page
    offers another try instead of starting the exam."""
    enrol = (
        "import cv2; from invigilation.students.models import Student; "
        "from invigilation.students.services import add_photo; "
        f"ok, face = cv2.VideoCapture({str(shared_data / 'video' / 'd9.mp4')!r}).read(); "
        "add_photo(student=Student.objects.get(student_number='S42'), "
        "data=cv2.imencode('.jpg', face)[1].tobytes(), original_name='S42.jpg', check_inline=True)"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", enrol], cwd=ROOT,
                   env=stack["env"], check=True, timeout=120)  # fmt: skip
    student = browser("d9.mp4", still=True)
    student.goto(f"{stack['url']}/capture/{stack['token']}/")
    student.check("#consent")
    student.click("#start-camera")
    student.wait_for_function("document.getElementById('preview').videoWidth > 0")
    student.click("#check-in")
    result = student.locator("#check-in-result")
    sync_api.expect(result).to_have_attribute("data-outcome", "liveness_failed", timeout=90000)
    sync_api.expect(student.locator("#retry-check-in")).to_be_visible()
    sync_api.expect(student.locator("#attempts-left")).to_contain_text("attempt(s) left")
    sync_api.expect(student.locator("#state")).not_to_contain_text("sending")
    student.screenshot(path=artifacts / "8-still-photo-refused.png")
