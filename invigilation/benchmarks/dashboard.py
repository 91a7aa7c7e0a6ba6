"""The live dashboard in headless Chromium: page load, and the browser's cost per live update.

The whole product runs as deployed on one host (`manage.py run`) against the scratch stores.
Exams of 0, 50 and 200 students (5 alerts per student) are set up as in full swing: checked
in, streaming, some disconnected, not verified or finished, alerts of every kind, a fifth of
them reviewed. An invigilator logs in through the login page and opens each exam's dashboard
several times: server response, DOMContentLoaded, first paint, the page's script ready
(`performance.mark("dashboard-ready")`) and its socket live. The empty exam, measured in the
same run, is the reference (machine speed varies 2x). On the largest exam, student statuses
(one per student per second, as at 1 frame/s), new flags, check-ins and reviews then go
through the real channel layer to the page, whose WebSocket handler is timed around each
message (`performance.now()`), with the longest frame while they arrive; then the controls.
"""

import random
import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from invigilation.benchmarks.environment import start_stack, stop
from invigilation.benchmarks.report import percentiles, table
from invigilation.benchmarks.scenario import create_invigilator, webcam_jpegs
from invigilation.core.embedded_redis import free_port
from invigilation.exams.models import Attendance, Exam, ExamSession
from invigilation.exams.services import assign_invigilator, enrol_students
from invigilation.proctoring.models import Flag, FrameRecord
from invigilation.proctoring.services import push_event, raise_flag, review_flag
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.services import add_photo

CHROMIUM = Path("/usr/lib/chromium/chromium")
PASSWORD = "bench-pass-1234"
KINDS = [("looking_away", 1), ("expression", 1), ("no_face", 2), ("camera_blocked", 2),
         ("stream_stopped", 2), ("identity_mismatch", 3), ("multiple_faces", 3)]  # fmt: skip
# Times each message's handling by the page, and every frame's length while asked to.
PROBE = """
window.__updates = [];
window.__frames = [];
const handler = Object.getOwnPropertyDescriptor(WebSocket.prototype, "onmessage");
Object.defineProperty(WebSocket.prototype, "onmessage", {
  get() { return handler.get.call(this); },
  set(listener) {
    handler.set.call(this, (event) => {
      const start = performance.now();
      listener(event);
      window.__updates.push([JSON.parse(event.data).type, performance.now() - start]);
    });
  },
});
window.__watchFrames = (on) => {
  window.__watching = on;
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    if (window.__watching) requestAnimationFrame(tick);
  };
  if (on) requestAnimationFrame(tick);
};
"""
LOAD_METRICS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const at = (name) => (performance.getEntriesByName(name)[0] || {}).startTime ?? null;
  return {
    server_ms: nav.responseStart - nav.requestStart,
    html_kb: nav.encodedBodySize / 1024,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    first_contentful_paint_ms: at("first-contentful-paint"),
    ready_ms: at("dashboard-ready"),
    load_ms: nav.loadEventEnd,
    live_ms: at("dashboard-live"),
    dom_elements: document.getElementsByTagName("*").length,
  };
}"""
# The time from a control's change to the next frame drawn.
INTERACT = """async ([selector, value]) => {
  const control = document.querySelector(selector);
  const start = performance.now();
  control.value = value;
  control.dispatchEvent(new Event(control.tagName === "INPUT" ? "input" : "change"));
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
  return performance.now() - start;
}"""


def run(
    *,
    env: dict[str, str],
    video: Path,
    levels: list[int],
    alerts_per_student: int = 5,
    loads: int = 5,
    rounds: int = 10,
    new_flags: int = 200,
    log_dir: Path,
    screenshots: Path,
) -> dict:
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: apt-get install chromium")
    face = webcam_jpegs(video, limit=1)[0]
    exams = [_exam_in_full_swing(n, n * alerts_per_student, face) for n in levels]
    watcher = create_invigilator(exam=exams[0], username="watcher", password=PASSWORD)
    for exam in exams[1:]:
        assign_invigilator(exam=exam, user=watcher)
    # Read before Playwright starts: its event loop forbids the ORM on this thread.
    sessions = list(exams[-1].sessions.all())
    port = free_port()
    stack = start_stack(env, 1, port, log_dir / "stack.log")
    try:
        return _measure(f"http://127.0.0.1:{port}", exams, sessions, loads, rounds, new_flags,
                        screenshots)  # fmt: skip
    finally:
        stop(stack)


def _exam_in_full_swing(students: int, alerts: int, face: bytes) -> Exam:
    rng = random.Random(students)
    now = timezone.now()
    exam = Exam.objects.create(title=f"dashboard-{students}", course="BENCH",
                               starts_at=now - timedelta(minutes=30),
                               ends_at=now + timedelta(hours=2))  # fmt: skip
    enrolled = Student.objects.bulk_create(
        Student(student_number=f"D{students}-{i:03d}", full_name=f"Student {i} of {students}")
        for i in range(students)
    )
    exam.student_count = exam.alert_count = 0
    if not enrolled:
        return exam
    # One real enrolment (face checked, embedded); the others share its file and embedding,
    # but one student in 33 has no photo.
    first = add_photo(
        student=enrolled[0], data=face, original_name="enrolment.jpg", check_inline=True
    )
    EnrolmentPhoto.objects.bulk_create(
        EnrolmentPhoto(student=s, image=first.image.name, extension=first.extension,
                       width=first.width, height=first.height, sha256=first.sha256,
                       face_check=first.face_check, embedding=first.embedding)
        for i, s in enumerate(enrolled[1:], 1) if i % 33 != 5
    )  # fmt: skip
    sessions = enrol_students(exam=exam, students=enrolled)
    # 5% waiting, 5% finished, 5% disconnected, the rest streaming; 4% failed the check-in.
    present = [s for i, s in enumerate(sessions) if i % 20 != 0]
    Attendance.objects.bulk_create(
        Attendance(session=s, checked_in_at=now - timedelta(minutes=25), verified=i % 25 != 3,
                   verification_distance=0.4)
        for i, s in enumerate(present)
    )  # fmt: skip
    finished = [s.pk for i, s in enumerate(present) if i % 20 == 1]
    ExamSession.objects.filter(pk__in=finished).update(status="finished", finished_at=now)
    FrameRecord.objects.bulk_create(
        FrameRecord(session=s, face_count=1, expression={"neutral": 0.8, "happy": 0.2},
                    captured_at=now - timedelta(minutes=5 if i % 20 == 2 else 0))
        for i, s in enumerate(present)
    )  # fmt: skip
    snapshot = default_storage.save(f"snapshots/{exam.pk}/bench.jpg", ContentFile(face))
    # A few students raise most of the alerts, as in a real exam (weights 1/sqrt(rank)).
    ranked = rng.sample(sessions, len(sessions))
    weights = [(rank + 1) ** -0.5 for rank in range(len(ranked))]
    flags = []
    for i, session in enumerate(rng.choices(ranked, weights, k=alerts)):
        kind, severity = rng.choice(KINDS)
        evidence = {"distance": 0.71, "p_impostor": 0.93} if kind == "identity_mismatch" else {}
        flags.append(Flag(
            exam=exam, session=session, kind=kind, severity=severity,
            confidence=round(rng.random(), 3),
            raised_at=now - timedelta(seconds=alerts - i), message=f"{kind} #{i}",
            evidence=evidence, snapshot=snapshot,
            review_state=rng.choice(["open"] * 4 + ["dismissed", "confirmed", "escalated"]),
        ))  # fmt: skip
    Flag.objects.bulk_create(flags)
    exam.student_count, exam.alert_count = students, alerts
    return exam


def _measure(base, exams, sessions, loads, rounds, new_flags, screenshots) -> dict:
    from playwright.sync_api import sync_playwright

    result: dict = {"loads": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.add_init_script(PROBE)
        _login(page, base)
        for exam in exams:
            result["loads"].append(_loads(page, base, exam, loads))
        big = exams[-1]
        page.goto(f"{base}/exams/{big.pk}/")
        page.wait_for_function("performance.getEntriesByName('dashboard-live').length > 0")
        page.wait_for_load_state("networkidle")
        screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=screenshots / "dashboard-200.png")
        result["updates"], result["frames"] = _updates(page, big, sessions, rounds, new_flags)
        result["interactions"] = _interactions(page)
        # Scrolled down: off-screen cards are rendered only as they come into view.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(300)
        page.screenshot(path=screenshots / "dashboard-200-scrolled.png")
        page.evaluate("window.scrollTo(0, 0)")
        _select_identity_alert(page)
        page.screenshot(path=screenshots / "dashboard-200-identity.png")
        browser.close()
    return result


def _login(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "watcher")
    page.fill("#id_password", PASSWORD)
    page.locator("[type=submit]").first.click()
    page.wait_for_url(f"{base}/")


def _loads(page, base: str, exam: Exam, loads: int) -> dict:
    runs = []
    for _ in range(loads + 1):  # the first warms the server's and browser's caches
        page.goto(f"{base}/exams/{exam.pk}/")
        page.wait_for_function("performance.getEntriesByName('dashboard-live').length > 0")
        page.wait_for_load_state("load")
        runs.append(page.evaluate(LOAD_METRICS))
    summary = {"students": exam.student_count, "alerts": exam.alert_count}
    for key in runs[1]:
        measured = [r[key] for r in runs[1:] if r[key] is not None]
        summary[key] = round(statistics.median(measured), 1) if measured else None
    return summary


def _updates(page, exam, sessions, rounds: int, new_flags: int) -> tuple[list[dict], dict]:
    page.evaluate("window.__updates = []; window.__watchFrames(true)")
    # Pushed from another thread: the ORM may not run on Playwright's event-loop thread.
    pusher = threading.Thread(target=_push, args=(exam, sessions, rounds, new_flags))
    pusher.start()
    while pusher.is_alive():
        page.wait_for_timeout(500)
    page.wait_for_timeout(2000)  # the last messages arrive
    updates, frames = page.evaluate(
        "window.__watchFrames(false); [window.__updates, window.__frames]"
    )
    rows = []
    for kind in ("status", "flag", "check_in", "flag_reviewed"):
        times = [ms for name, ms in updates if name == kind]
        if times:
            rows.append({"message": kind, "count": len(times),
                         **{f"{k}_ms": v for k, v in percentiles(times).items()},
                         "max_ms": round(max(times), 2)})  # fmt: skip
    return rows, {"longest_ms": round(max(frames), 1), "frames": len(frames),
                  "over_50_ms": sum(ms > 50 for ms in frames)}  # fmt: skip


def _push(exam: Exam, sessions: list[ExamSession], rounds: int, new_flags: int) -> None:
    rng = random.Random(1)
    for _ in range(rounds):  # every student's frame status once a second, spread over it
        started = time.monotonic()
        for i, session in enumerate(sessions):
            time.sleep(max(0.0, started + i / len(sessions) - time.monotonic()))
            status = {"session": session.pk, "at": timezone.now().isoformat(),
                      "face_count": rng.choice([1] * 9 + [2]), "identity_match": True,
                      "expression": rng.choice(["neutral", "happy", "sad"])}  # fmt: skip
            push_event(exam_id=exam.pk, event={"type": "session.status", "status": status})
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    raised = []
    for i in range(new_flags):  # through the product's path: stored, then pushed on commit
        kind, severity = rng.choice(KINDS)
        raised.append(raise_flag(session=rng.choice(sessions), kind=kind, severity=severity,
                                 confidence=rng.random(), message=f"live #{i}"))  # fmt: skip
        time.sleep(0.05)
    for session in sessions[:50]:
        check_in = {
            "session": session.pk,
            "checked_in_at": timezone.now().isoformat(),
            "verified": rng.random() > 0.1,
            "distance": 0.4,
            "has_reference": True,
        }
        push_event(exam_id=exam.pk, event={"type": "session.checked_in", "check_in": check_in})
        time.sleep(0.02)
    reviewer = User.objects.get(username="watcher")
    for flag in raised[:100]:
        review_flag(flag=flag, reviewer=reviewer, state="dismissed", note="benchmark")
        time.sleep(0.02)


def _interactions(page) -> list[dict]:
    steps = [
        ("sort the grid by name", "#student-sort", "name"),
        ("sort the grid by risk", "#student-sort", "risk"),
        ("search a name", "#student-search", "Student 17"),
        ("clear the search", "#student-search", ""),
        ("filter: disconnected", "#status-filter", "disconnected"),
        ("filter: every status", "#status-filter", ""),
        ("alerts: all review states", "#review-filter", "all"),
        ("alerts: open", "#review-filter", "open"),
    ]
    rows = []
    for name, selector, value in steps:
        times = [page.evaluate(INTERACT, [selector, value]) for _ in range(3)]
        rows.append({"interaction": name, "ms": round(statistics.median(times), 1)})
    return rows


def _select_identity_alert(page) -> None:
    row = page.locator("#alerts li[data-kind=identity_mismatch][data-snapshot='1']:visible").first
    row.click()
    page.wait_for_function(
        "Array.from(document.querySelectorAll('li.current img')).every(i => i.complete)"
    )


def markdown(result: dict) -> str:
    loads = table(result["loads"], [
        ("students", "students"), ("alerts", "alerts"), ("html_kb", "HTML KiB"),
        ("dom_elements", "DOM elements"), ("server_ms", "server ms"),
        ("dom_content_loaded_ms", "DOMContentLoaded ms"),
        ("first_contentful_paint_ms", "first paint ms"), ("ready_ms", "script ready ms"),
        ("load_ms", "load ms"), ("live_ms", "socket live ms"),
    ])  # fmt: skip
    updates = table(result["updates"], [
        ("message", "message"), ("count", "count"), ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"),
        ("p99_ms", "p99 ms"), ("max_ms", "max ms"),
    ])  # fmt: skip
    interactions = table(result["interactions"], [("interaction", "control"), ("ms", "ms")])
    frames = result["frames"]
    return (f"{loads}\n{updates}\nwhile updates arrived: {frames['frames']} frames drawn, "
            f"{frames['over_50_ms']} longer than 50 ms, the longest {frames['longest_ms']} ms"
            f"\n\n{interactions}")  # fmt: skip
