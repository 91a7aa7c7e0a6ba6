"""In a real browser (Debian's Chromium, fake camera fed from a real clip), end to end:
admin enrols a student's photo, the invigilator watches, the student checks in and streams,
then someone else takes over the student's session; the identity-mismatch alert appears on
the dashboard, the invigilator confirms it, and the report shows it. Screenshots of each
step go to $E2E_ARTIFACTS (default var/e2e-artifacts)."""

import os
import shutil
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


def y4m_from_clip(video: Path, out: Path, frames: int = 90) -> Path:
    """A looping fake-camera file (YUV4MPEG2, 4:2:0) from a real clip, 640x480 letterboxed."""
    capture = cv2.VideoCapture(str(video))
    with out.open("wb") as handle:
        handle.write(b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            ok, image = capture.read()
            if not ok:
                break
            scale = min(640 / image.shape[1], 480 / image.shape[0])
            small = cv2.resize(image, None, fx=scale, fy=scale)
            canvas = cv2.copyMakeBorder(
                small, 0, 480 - small.shape[0], 0, 640 - small.shape[1], cv2.BORDER_CONSTANT
            )
            handle.write(b"FRAME\n" + cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out


@pytest.fixture
def artifacts() -> Path:
    folder = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "var" / "e2e-artifacts"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def browser(shared_data, tmp_path):
    """Launches Chromium with a given clip as its camera; closes them all at the end."""
    contexts = []
    with sync_api.sync_playwright() as playwright:

        def launch(clip: str | None = None):
            args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
            if clip:
                camera = y4m_from_clip(shared_data / "video" / clip, tmp_path / f"{clip}.y4m")
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
    admin.screenshot(path=artifacts / "1-admin-enrols-photo.png", full_page=True)

    dashboard = browser()
    login(dashboard, base, "watcher", "pw-watch-1234")
    dashboard.goto(f"{base}/exams/{exam}/")
    sync_api.expect(dashboard.locator("#live-state")).to_have_text("live", timeout=15000)
    dashboard.screenshot(path=artifacts / "2-dashboard-live.png")

    student = browser("d9.mp4")
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
    sync_api.expect(student.locator("#check-in-result")).to_contain_text(
        "Identity checked", timeout=30000
    )
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
    sync_api.expect(impostor.locator("#check-in-result")).to_contain_text(
        "did not match", timeout=30000
    )
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
