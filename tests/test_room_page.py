"""The staff room page (`dashboard:room`) of an exam held in a room: who may see it, the roster's
states from the kiosk's attendance and the cameras' sightings, the seat plan, the room's
alerts, its JSON refresh, and the page in Chromium showing a camera's latest frame on demand."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from helpers import jpeg

from invigilation.audit.models import AccessEvent
from invigilation.dashboard.room import roster_state
from invigilation.exams.models import Attendance, ExamSession
from invigilation.exams.services import enrol_students
from invigilation.proctoring.services import raise_flag
from invigilation.rooms import frames
from invigilation.rooms.models import Camera, Sighting
from invigilation.students.models import Student

CHROMIUM = Path("/usr/lib/chromium/chromium")


@pytest.fixture
def room_exam(exam):
    exam.mode, exam.room, exam.seat_rows, exam.seat_columns = "room", "Hall 1", 2, 3
    exam.save()
    return exam


@pytest.fixture
def camera(room_exam) -> Camera:
    return Camera.objects.create(exam=room_exam, name="Front left", position="front left, rows A-B")


@pytest.fixture
def roster(room_exam, sessions) -> dict[str, ExamSession]:
    """S001 checked in at A2, seen now: present. S002 checked in 30 min ago, seen 20 min ago:
    not seen. S004 seen, never checked in. S005 finished. S006 nothing, seat B3 assigned."""
    now = timezone.now()
    extra = [
        Student.objects.create(student_number=f"S00{n}", full_name=name)
        for n, name in ((4, "Edsger Dijkstra"), (5, "Barbara Liskov"), (6, "Ken Thompson"))
    ]
    enrol_students(exam=room_exam, students=extra)
    by_number = {s.student.student_number: s for s in room_exam.sessions.select_related("student")}
    Attendance.objects.create(
        session=by_number["S001"], checked_in_at=now - timedelta(minutes=5), seat="A2"
    )
    Attendance.objects.create(session=by_number["S002"], checked_in_at=now - timedelta(minutes=30))
    Attendance.objects.create(session=by_number["S005"], checked_in_at=now - timedelta(minutes=30))
    for number, last in (("S001", 1), ("S002", 20), ("S004", 2)):
        Sighting.objects.create(
            session=by_number[number],
            frames=3,
            first_seen_at=now - timedelta(minutes=25),
            last_seen_at=now - timedelta(minutes=last),
        )
    ExamSession.objects.filter(pk=by_number["S005"].pk).update(status="finished")
    ExamSession.objects.filter(pk=by_number["S006"].pk).update(assigned_seat="B3")
    return by_number


def readings(camera: Camera, states: list[str]) -> dict:
    faces = [
        {
            "box": [10 + 60 * i, 20, 50 + 60 * i, 70],
            "score": 0.9,
            "state": state,
            "student": "S001" if state == "identified" else None,
            "name": "Ada Lovelace" if state == "identified" else None,
            "distance": None if state == "too_small" else 0.4,
            "ambiguous": state == "ambiguous",
        }
        for i, state in enumerate(states)
    ]
    return {
        "camera": {"id": camera.pk, "name": camera.name},
        "frame_id": "f1",
        "at": time.time(),
        "width": 320,
        "height": 240,
        "faces": faces,
        "timings_ms": {},
    }


@pytest.mark.django_db
def test_invigilators_of_the_exam_see_it_others_do_not(
    client, room_exam, invigilator, other_invigilator
):
    url = reverse("dashboard:room", args=[room_exam.pk])
    response = client.get(url)
    assert response.status_code == 302 and settings.LOGIN_URL in response["Location"]
    client.force_login(other_invigilator)
    assert client.get(url).status_code == 404
    assert client.get(reverse("dashboard:room-json", args=[room_exam.pk])).status_code == 404
    client.force_login(invigilator)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for link in (
        reverse("kiosk:kiosk", args=[room_exam.pk]),
        reverse("dashboard:exam", args=[room_exam.pk]),
        reverse("reports:exam", args=[room_exam.pk]),
    ):
        assert f'href="{link}"' in page
    logged = AccessEvent.objects.get(user=invigilator, exam=room_exam)
    assert logged.what == "live_dashboard" and logged.detail == "room page"


@pytest.mark.parametrize(
    ("finished", "checked_in", "seen", "state"),
    [
        (True, 30, 1, "finished"),
        (False, None, None, "not_checked_in"),
        (False, None, 15, "seen_not_checked_in"),
        (False, 30, 9, "present"),
        (False, 30, 11, "not_seen"),
        (False, 30, None, "not_seen"),
        (False, 3, None, "arriving"),
    ],
)
def test_roster_state(finished, checked_in, seen, state):
    now = timezone.now()
    ago = {
        k: None if v is None else now - timedelta(minutes=v)
        for k, v in (("checked_in_at", checked_in), ("last_seen_at", seen))
    }
    assert roster_state(finished=finished, now=now, **ago) == state


@pytest.mark.django_db
def test_the_roster_reads_attendance_sightings_and_finished_sessions(
    client, invigilator, room_exam, roster
):
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:room", args=[room_exam.pk])).content.decode()
    expected = {
        "S001": "present",
        "S002": "not_seen",
        "S004": "seen_not_checked_in",
        "S005": "finished",
        "S006": "not_checked_in",
    }
    for number, state in expected.items():
        assert f'<tr data-number="{number}" class="state-{state}">' in page
    assert "B3 (assigned)" in page and "not checked in" in page and "never" in page
    # Counts: 3 checked in (S005 finished too) of 5, 1 present, 1 not seen.
    assert (
        '<strong id="count-checked-in">3</strong> of <strong id="count-enrolled">5</strong>' in page
    )
    assert '<strong id="count-present">1</strong>' in page
    assert '<strong id="count-not-seen">1</strong>' in page


@pytest.mark.django_db
def test_the_seat_plan_shows_names_coloured_by_state(client, invigilator, room_exam, roster):
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:room", args=[room_exam.pk])).content.decode()
    assert "Row A is at the front, nearest the invigilator's desk." in page
    assert page.count('class="seat state-') == 6  # 2 rows × 3 columns
    a2 = page.split('data-seat="A2"')[0].rsplit("<div", 1)[1]
    assert "state-present" in a2
    assert 'data-seat="A2"' in page and "Ada Lovelace</span>" in page
    assert 'class="seat state-not_checked_in" data-seat="B3"' in page
    assert "Ken Thompson (assigned)" in page
    assert 'class="seat state-empty" data-seat="A1"' in page


@pytest.mark.django_db
def test_room_and_kiosk_alerts_are_listed_newest_first(client, invigilator, room_exam, roster):
    now = timezone.now()
    stranger = raise_flag(
        exam=room_exam,
        kind="unknown_person",
        message="A face like no student",
        raised_at=now - timedelta(minutes=1),
        thumbnail=jpeg(),
    )
    kiosk = raise_flag(
        session=roster["S004"],
        kind="no_match",
        message="Not the student",
        raised_at=now,
        snapshot=jpeg(),
    )
    raise_flag(session=roster["S001"], kind="looking_away", message="online only")
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:room", args=[room_exam.pk])).content.decode()
    assert page.index(f'data-flag="{kiosk.pk}"') < page.index(f'data-flag="{stranger.pk}"')
    assert "Unknown person in the room" in page and "the room</span>" in page
    assert "Edsger Dijkstra (S004)" in page and "No match at the kiosk" in page
    assert f'src="{reverse("flag-thumbnail", args=[stranger.pk])}"' in page
    assert f'src="{reverse("flag-snapshot", args=[kiosk.pk])}"' in page
    assert 'loading="lazy"' in page and "online only" not in page
    assert f'href="{reverse("reports:review", args=[room_exam.pk])}"' in page


@pytest.mark.django_db
def test_the_json_refresh(client, invigilator, room_exam, roster, camera):
    frames.put_view(
        camera,
        jpeg(size=(320, 240)),
        readings(camera, ["identified", "unknown", "unknown", "too_small"]),
    )
    flag = raise_flag(exam=room_exam, kind="too_many_faces", message="4 faces, 3 checked in")
    client.force_login(invigilator)
    response = client.get(reverse("dashboard:room-json", args=[room_exam.pk]))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    state = response.json()
    assert state["counts"] == {
        "enrolled": 5,
        "checked_in": 3,
        "present": 1,
        "not_seen": 1,
        "unknown_faces": 2,
    }
    [view] = state["cameras"]
    assert view["id"] == camera.pk and view["analysed_at"]
    assert view["faces"] == {"identified": 1, "unknown": 2, "ambiguous": 0, "too_small": 1}
    s006 = next(e for e in state["roster"] if e["number"] == "S006")
    assert (s006["seat"], s006["seat_assigned"], s006["state"]) == ("B3", True, "not_checked_in")
    [alert] = state["alerts"]
    assert (alert["id"], alert["who"], alert["review"], alert["picture"]) == (
        flag.pk,
        "the room",
        "Open",
        "",
    )


@pytest.mark.django_db
def test_a_camera_without_a_recent_frame_says_so(client, invigilator, room_exam, camera):
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:room", args=[room_exam.pk])).content.decode()
    assert "Front left" in page and "front left, rows A-B" in page
    assert "no frame in the last 2 minutes" in page
    room_view = reverse("rooms:room-view", args=[room_exam.pk, camera.pk])
    # The frame is loaded on demand only: no <img> points at it.
    assert f'data-src="{room_view}"' in page and f' src="{room_view}"' not in page


@pytest.fixture
def browser(monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread; the ORM runs between its steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser, sync_api.expect
        browser.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_page_in_chromium_shows_the_latest_frame_on_demand(
    browser, live_server, client, invigilator, room_exam, roster, camera
):
    chromium, expect = browser
    frames.put_view(
        camera,
        jpeg((90, 110, 140), (640, 360)),
        readings(camera, ["identified", "unknown", "ambiguous"]),
    )
    raise_flag(
        exam=room_exam,
        kind="unknown_person",
        message="A face like no student enrolled",
        thumbnail=jpeg((90, 110, 140), (320, 180)),
    )
    client.force_login(invigilator)
    context = browser_context(chromium, live_server.url, client)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}{reverse('dashboard:room', args=[room_exam.pk])}")
    image = page.locator(".room-camera-card .room-frame")
    expect(image).to_be_hidden()  # never loaded by itself
    page.click(".show-frame")
    expect(image).to_be_visible()
    page.wait_for_function("document.querySelector('.room-frame').naturalWidth === 640")
    expect(page.locator(".camera-status")).to_contain_text("1 unknown")
    # The refresh (room.json, every 10 s) re-renders the roster and keeps the frame shown.
    expect(page.locator("#updated")).not_to_have_text("at load", timeout=15000)
    expect(page.locator('#roster tr[data-number="S002"] .state')).to_have_text("not seen")
    expect(image).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path="/tmp/room-page.png", full_page=True)
    assert errors == []


def browser_context(chromium, url: str, client):
    """A browser context logged in with the test client's session cookie."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    name = settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": url}])
    return context
