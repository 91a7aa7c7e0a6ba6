"""The room camera's page, opened on a laptop pointed at the room, and the admin's camera."""

import tempfile
from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from django.urls import reverse
from django.utils import timezone

from invigilation.rooms.models import Camera
from tests.room_helpers import hall_images, running_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def camera(exam) -> Camera:
    return Camera.objects.create(
        exam=exam, name="Back right", position="back right, rows F-K", frames_per_second=0.5
    )


def test_the_page_opens_for_a_valid_token(client, camera):
    response = client.get(reverse("rooms:camera", args=[camera.token]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Room camera: Back right" in page and "back right, rows F-K" in page
    assert f'data-token="{camera.token}"' in page and 'data-fps="0.5"' in page
    assert f'data-frames-url="{reverse("camera-frame-ingest")}"' in page
    assert "js/room_camera.js" in page
    assert response["Referrer-Policy"] == "no-referrer"  # the token is in the URL


def test_a_bad_token_gets_a_page_that_says_so(client, camera):
    response = client.get(reverse("rooms:camera", args=["not-a-camera"]))
    assert response.status_code == 404
    assert "This camera link is not valid" in response.content.decode()


def test_an_inactive_camera_or_ended_exam_gets_a_page_that_says_so(client, camera):
    camera.active = False
    camera.save()
    response = client.get(reverse("rooms:camera", args=[camera.token]))
    assert response.status_code == 404
    assert "This camera is switched off" in response.content.decode()
    camera.active = True
    camera.save()
    camera.exam.starts_at = timezone.now() - timedelta(hours=3)
    camera.exam.ends_at = timezone.now() - timedelta(minutes=1)
    camera.exam.save()
    response = client.get(reverse("rooms:camera", args=[camera.token]))
    assert response.status_code == 404 and "not valid" in response.content.decode()


def test_the_admin_shows_the_cameras_page_link(client, admin_user, camera, settings):
    client.force_login(admin_user)
    response = client.get(reverse("admin:rooms_camera_change", args=[camera.pk]))
    assert response.status_code == 200
    link = settings.SITE_URL.rstrip("/") + reverse("rooms:camera", args=[camera.token])
    assert link in response.content.decode()


CHROMIUM = Path("/usr/lib/chromium/chromium")


def y4m_of_hall(shared_data: Path, out: Path) -> Path:
    """A fake camera (YUV4MPEG2, 4:2:0) showing hall-dev's hall1 frames at full HD."""
    with out.open("wb") as handle:
        handle.write(b"YUV4MPEG2 W1920 H1080 F1:1 Ip A1:1 C420jpeg\n")
        for image in hall_images(shared_data):
            handle.write(b"FRAME\n" + cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())
    return out


@pytest.fixture
def chromium(tmp_path):
    """Chromium (Debian's, through Playwright) with the given fake camera, or with camera
    access refused when `camera` is None."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        contexts = []

        def launch(camera: Path | None):
            args = ["--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream"]
            if camera:  # else no fake permission prompt: headless Chromium refuses the camera
                args += [
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={camera}",
                ]
            context = playwright.chromium.launch_persistent_context(
                tempfile.mkdtemp(dir=tmp_path), executable_path=str(CHROMIUM), headless=True,
                args=args,
            )  # fmt: skip
            contexts.append(context)
            return context.new_page()

        yield launch, sync_api.expect
        for context in contexts:
            context.close()


@pytest.mark.e2e
def test_the_page_sends_full_hd_frames_and_explains_a_refused_camera(
    chromium, shared_data, tmp_path, redis_url
):
    launch, expect = chromium
    with running_room(tmp_path, redis_url) as world:
        page = launch(y4m_of_hall(shared_data, tmp_path / "hall.y4m"))
        page.goto(f"{world['url']}/camera/{world['token']}/")
        page.click("#start")
        expect(page.locator("#resolution")).to_contain_text("Camera: 1920x1080", timeout=20000)
        expect(page.locator("#state")).to_have_text("sending")
        expect(page.locator("#sent")).to_contain_text("2 frame(s) sent", timeout=20000)
        expect(page.locator("#error")).to_be_hidden()
        # A laptop whose camera is refused (the permission prompt dismissed) says what to do.
        refused = launch(None)
        refused.goto(f"{world['url']}/camera/{world['token']}/")
        refused.click("#start")
        expect(refused.locator("#error")).to_contain_text("Camera access was refused")
        expect(refused.locator("#state")).to_have_text("camera not available")
