"""The live dashboard in a real browser (Debian's Chromium): the page and the REST API come
from a live test server; the exam's WebSocket is played by the test (Playwright's WebSocket
routing), which pushes the messages the consumer sends (tests/test_alerts_consumer.py)."""

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from helpers import jpeg

from invigilation.exams.models import Attendance, ExamSession
from invigilation.exams.services import check_in
from invigilation.proctoring import frames
from invigilation.proctoring.services import flag_event, raise_flag
from invigilation.students.models import EnrolmentPhoto

CHROMIUM = Path("/usr/lib/chromium/chromium")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

AT = datetime(2026, 3, 2, 13, 10, 9, tzinfo=UTC)
CALIBRATED = {"distance": 0.712, "p_impostor": 0.934, "frame": {"identity_distance": 0.7}}


def reference_photo(student) -> EnrolmentPhoto:
    """An accepted photo (with a face embedding): what identity checks compare against."""
    photo = EnrolmentPhoto(student=student, extension="jpg", sha256=f"{student.pk:064d}",
                           embedding=b"\0" * 512)  # fmt: skip
    photo.image.save("photo.jpg", ContentFile(jpeg()))
    return photo


@dataclass
class Dashboard:
    page: object
    sockets: list
    requests: set

    def idle(self) -> None:
        """Wait for the page's requests to end: the live server shares the test's SQLite
        database, which a write while it reads would find locked."""
        while self.requests:
            self.page.wait_for_timeout(20)

    def push(self, message: dict) -> None:
        """A message from the server, as the consumer sends it."""
        self.sockets[-1].send(json.dumps(message))

    def card(self, session):
        return self.page.locator(f'.student[data-session="{session.pk}"]')

    def shown(self, session) -> dict:
        """What the card says: status, identity, check-in and finish times, risk."""
        card = self.card(session)
        identity = card.locator(".identity")
        return {
            "status": card.locator("[data-status]").inner_text(),
            "identity": identity.inner_text() if identity.is_visible() else "",
            "checked_in": card.locator(".checked-in").inner_text(),
            "finished": card.locator(".finished").inner_text(),
            "risk": card.locator(".risk").inner_text(),
            "open": card.locator(".open-flags").inner_text(),
        }


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls run
    # between browser steps, never concurrently with them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def open_dashboard(browser, live_server, client):
    def open_(user, exam) -> Dashboard:
        client.force_login(user)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        name = settings.SESSION_COOKIE_NAME
        cookie = {"name": name, "value": client.cookies[name].value, "url": live_server.url}
        context.add_cookies([cookie])
        page = context.new_page()
        dashboard = Dashboard(page, [], set())
        # (Playwright takes functions as handlers, not built-in methods.)
        page.on("request", lambda request: dashboard.requests.add(request))
        page.on("requestfinished", lambda request: dashboard.requests.discard(request))
        page.on("requestfailed", lambda request: dashboard.requests.discard(request))
        page.route_web_socket(
            re.compile(r"/ws/exams/\d+/alerts/$"), lambda socket: dashboard.sockets.append(socket)
        )
        page.goto(f"{live_server.url}/exams/{exam.pk}/")
        expect(page.locator("#live-state")).to_have_text("live")
        page.wait_for_load_state("networkidle")  # the REST catch-up is done
        return dashboard

    return open_


def test_attendance_is_live_and_reads_the_same_after_a_reload(open_dashboard, invigilator, exam,
                                                              sessions):  # fmt: skip
    ada, alan = sessions["S001"], sessions["S002"]
    reference_photo(ada.student)  # Alan has no enrolment photo
    dashboard = open_dashboard(invigilator, exam)
    assert dashboard.shown(ada)["status"] == "waiting" and dashboard.shown(ada)["identity"] == ""

    dashboard.push({"type": "check_in", "check_in": {
        "session": ada.pk, "checked_in_at": AT.isoformat(), "verified": False, "distance": 0.81,
        "has_reference": True}})  # fmt: skip
    dashboard.push({"type": "check_in", "check_in": {
        "session": alan.pk, "checked_in_at": AT.isoformat(), "verified": None, "distance": None,
        "has_reference": False}})  # fmt: skip
    expect(dashboard.card(ada).locator(".identity")).to_have_text("not verified")
    expect(dashboard.card(ada).locator(".identity")).to_have_class(re.compile(r"\bbad\b"))
    expect(dashboard.card(alan).locator(".identity")).to_have_text("no photo: not checked")
    assert dashboard.shown(ada)["checked_in"] == "· in 13:10:09"  # the site's clock, not 1:10 PM
    assert dashboard.shown(alan)["status"] == "checked in"
    status = {"session": alan.pk, "at": AT.isoformat(), "face_count": 1, "expression": "neutral"}
    dashboard.push({"type": "status", "status": status})
    expect(dashboard.card(alan).locator("[data-status]")).to_have_text("active")
    finished = {"session": ada.pk, "finished_at": "2026-03-02T14:00:00+00:00"}
    dashboard.push({"type": "finished", "session": finished})
    expect(dashboard.card(ada).locator("[data-status]")).to_have_text("finished")
    dashboard.idle()
    flag = raise_flag(session=alan, kind="no_face", raised_at=AT)
    dashboard.push({"type": "flag", "flag": flag_event(flag)})
    expect(dashboard.page.locator(f'li[data-flag-id="{flag.pk}"] time')).to_have_text("13:10:09")
    live = {s.pk: dashboard.shown(s) for s in (ada, alan)}

    # The same facts in the database: the reload shows the cards as the live updates did.
    dashboard.idle()
    for session, verified in ((ada, False), (alan, None)):
        attendance = check_in(session=session, verified=verified)
        Attendance.objects.filter(pk=attendance.pk).update(checked_in_at=AT)
    ExamSession.objects.filter(pk=ada.pk).update(
        status="finished", finished_at=datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    )
    alan.frames.create(captured_at=datetime.now(UTC), face_count=1)
    dashboard.page.reload()
    reloaded = {s.pk: dashboard.shown(s) for s in (ada, alan)}
    assert reloaded == live
    assert live[ada.pk]["finished"] == "· finished 14:00:00"


def test_flags_update_groups_risk_and_counts_live_and_the_reload_agrees(open_dashboard,
                                                                        invigilator, exam,
                                                                        sessions):  # fmt: skip
    ada, alan = sessions["S001"], sessions["S002"]
    for i in range(12):
        raise_flag(session=ada, kind="looking_away", severity=1, confidence=0.5, message=f"#{i}")
    dashboard = open_dashboard(invigilator, exam)
    page = dashboard.page
    group = page.locator(f'.group[data-session="{ada.pk}"]')
    expect(group.locator(".count")).to_have_text("12")
    expect(group.locator("li:visible")).to_have_count(1)  # collapsed: the newest alert
    group.locator(".more").click()
    expect(group.locator("li:visible")).to_have_count(12)
    assert dashboard.shown(ada)["risk"] == "6.0"  # 12 x 1 x 0.5

    dashboard.idle()
    flag = raise_flag(session=alan, kind="identity_mismatch", severity=3, confidence=0.9)
    dashboard.push({"type": "flag", "flag": flag_event(flag)})
    expect(page.locator(".group").first).to_have_attribute("data-session", str(alan.pk))
    expect(dashboard.card(alan).locator(".risk")).to_have_text("8.1")  # 9 x 0.9
    expect(page.locator(".student").first).to_have_attribute("data-session", str(alan.pk))
    assert dashboard.shown(alan)["open"] == "1 open flag"
    dashboard.push({"type": "flag", "flag": flag_event(flag)})  # a repeat changes nothing
    expect(page.locator(f'.group[data-session="{alan.pk}"] li')).to_have_count(1)

    # Reviews decay the score: confirmed counts half.
    reviewed = {**flag_event(flag), "review_state": "confirmed"}
    dashboard.idle()
    flag.review_state = "confirmed"
    flag.save()
    dashboard.push({"type": "flag_reviewed", "flag": reviewed})
    expect(dashboard.card(alan).locator(".risk")).to_have_text("4.1")  # 4.05, halves rounded up
    expect(page.locator(f'.group[data-session="{alan.pk}"]')).to_be_hidden()  # none open
    assert dashboard.shown(alan)["open"] == "0 open flags"
    live_risk = dashboard.card(alan).get_attribute("data-risk")

    page.reload()
    assert float(dashboard.card(alan).get_attribute("data-risk")) == pytest.approx(float(live_risk))
    assert dashboard.shown(alan)["risk"] == "4.1"
    page.select_option("#review-filter", "reviewed")
    expect(page.locator(f'.group[data-session="{alan.pk}"] .count')).to_have_text("1")


def test_the_grid_sorts_searches_and_filters(open_dashboard, invigilator, exam, sessions):
    ada, alan = sessions["S001"], sessions["S002"]
    check_in(session=ada, verified=False)
    raise_flag(session=alan, kind="no_face")
    dashboard = open_dashboard(invigilator, exam)
    page = dashboard.page

    def expect_shown(numbers: list[str]) -> None:
        cards = page.locator(".student:visible")
        expect(cards).to_have_count(len(numbers))
        for i, number in enumerate(numbers):
            expect(cards.nth(i)).to_have_attribute("data-number", number)

    expect_shown(["S002", "S001"])  # by risk: Alan has an open flag
    page.select_option("#student-sort", "name")
    expect_shown(["S001", "S002"])
    page.fill("#student-search", "turing")
    expect_shown(["S002"])
    page.fill("#student-search", "s001")
    expect_shown(["S001"])
    page.fill("#student-search", "")
    page.select_option("#status-filter", "not_verified")
    expect_shown(["S001"])
    page.select_option("#status-filter", "")
    page.check("#open-only")
    expect_shown(["S002"])
    expect(page.locator("#grid-summary")).to_contain_text("1 of 2 shown")


def test_an_identity_alert_shows_the_reference_photo_beside_the_snapshot(open_dashboard,
                                                                         invigilator, exam,
                                                                         sessions):  # fmt: skip
    ada = sessions["S001"]
    photo = reference_photo(ada.student)
    calibrated = raise_flag(session=ada, kind="identity_mismatch", severity=3, confidence=0.934,
                            evidence=CALIBRATED, snapshot=jpeg((200, 30, 30)))  # fmt: skip
    older_evidence = {"frame": {"identity_distance": 0.66}}  # before p_impostor existed
    older = raise_flag(session=ada, kind="identity_mismatch", severity=3,
                       evidence=older_evidence, snapshot=jpeg())  # fmt: skip
    dashboard = open_dashboard(invigilator, exam)
    page = dashboard.page
    page.locator(f'.group[data-session="{ada.pk}"] .more').click()

    row = page.locator(f'li[data-flag-id="{calibrated.pk}"]')
    row.click()
    images = row.locator(".compare img")
    expect(images).to_have_count(2)
    assert images.nth(0).get_attribute("src") == f"/photos/{photo.pk}/"
    assert images.nth(1).get_attribute("src") == f"/api/flags/{calibrated.pk}/snapshot/"
    page.wait_for_function(
        f"Array.from(document.querySelectorAll('li[data-flag-id=\"{calibrated.pk}\"] img'))"
        ".every(img => img.complete && img.naturalWidth === 160)"
    )  # both served to this invigilator
    expect(row.locator(".identity-numbers")).to_have_text(
        "distance 0.71 · probability it is not the student: 93%"
    )
    expect(row.locator("input.note")).to_be_visible()
    older_row = page.locator(f'li[data-flag-id="{older.pk}"]')  # raised later: above
    page.keyboard.press("k")
    expect(older_row).to_have_class(re.compile(r"\bcurrent\b"))
    expect(row.locator("input.note")).to_have_count(0)  # controls only on the selected alert
    expect(older_row.locator(".identity-numbers")).to_have_text(
        "distance 0.66 · probability not computed"
    )

    # A pushed flag carries its evidence too (flag_event): shown when selected.
    dashboard.idle()
    pushed = raise_flag(session=ada, kind="identity_mismatch", severity=3, confidence=0.934,
                        evidence=CALIBRATED, snapshot=jpeg())  # fmt: skip
    dashboard.push({"type": "flag", "flag": flag_event(pushed)})
    pushed_row = page.locator(f'li[data-flag-id="{pushed.pk}"]')
    pushed_row.click()
    expect(pushed_row.locator(".identity-numbers")).to_have_text(
        "distance 0.71 · probability it is not the student: 93%"
    )

    # Reviewing from the keyboard: n for the note, c to confirm, then on to the next alert.
    page.keyboard.press("n")
    page.keyboard.type("compared with the photo: someone else")
    page.keyboard.press("Enter")
    page.keyboard.press("c")
    expect(pushed_row).to_have_class(re.compile(r"\bstate-confirmed\b"))
    expect(pushed_row).to_be_hidden()  # the feed shows open alerts
    dashboard.idle()
    pushed.refresh_from_db()
    assert pushed.review_state == "confirmed"
    expect(page.locator("li.current")).to_have_count(1)


def test_look_now_shows_the_waiting_frame_and_says_when_there_is_none(open_dashboard,
                                                                      invigilator, exam,
                                                                      sessions):  # fmt: skip
    ada = sessions["S001"]
    dashboard = open_dashboard(invigilator, exam)
    page = dashboard.page
    dashboard.card(ada).locator(".look-now").click()
    dialog = page.locator("#look-now")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#look-now-title")).to_contain_text("Ada Lovelace")
    expect(dialog.locator("p")).to_contain_text("No frame from this student is waiting")
    frames.put_latest(ada, frames.PendingFrame(jpeg(size=(320, 240)), time.time()))
    # Refreshed while open: the frame appears without another click.
    page.wait_for_function(
        "document.querySelector('#look-now img').naturalWidth === 320", timeout=10000
    )
    expect(dialog.locator("p")).to_contain_text("frame received")
    dialog.locator(".close").click()
    expect(dialog).to_be_hidden()
