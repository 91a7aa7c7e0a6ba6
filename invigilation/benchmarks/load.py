"""The exam-day load of issue 20, against the whole product on loopback (`manage.py run`).

Students post frames at 1 fps (as in `latency`), and invigilators each hold a dashboard
socket and poll `GET /api/flags/?exam=` every few seconds. Measured over the window: new
database connections per second (PostgreSQL: its `sessions` counter for the scratch
database, and the product's distinct backends seen in pg_stat_activity), frames analysed,
dropped and failed, frame POST p95, status and flag-to-dashboard p95, and stopped-stream
checks run against those beat sent (the rest expired unrun).
"""

import http.client
import threading
import time
import urllib.parse
from pathlib import Path

from django.conf import settings

from invigilation.benchmarks.environment import start_stack, stop
from invigilation.benchmarks.latency import (
    ALERT_THRESHOLDS,
    _latencies,
    _Listener,
    _Student,
    login_cookie,
)
from invigilation.benchmarks.report import percentiles, table
from invigilation.benchmarks.scenario import create_exam, create_invigilator, webcam_jpegs
from invigilation.core.embedded_redis import free_port
from invigilation.proctoring import frames

CHECK_TASK = "invigilation.proctoring.tasks.check_stopped_streams"
PASSWORD = "bench-pass-1234"


def run(
    *,
    env: dict[str, str],
    genuine: Path,
    impostor: Path,
    students: int = 50,
    invigilators: int = 3,
    poll_every: float = 3.0,
    seconds: float = 120.0,
    warmup: float = 10.0,
    concurrency: int = 2,
    log_dir: Path,
) -> dict:
    clips = {"genuine": webcam_jpegs(genuine), "impostor": webcam_jpegs(impostor)}
    exam, sessions = create_exam(
        title="load", students=students, enrol_with=clips["genuine"][0],
        thresholds=ALERT_THRESHOLDS,
    )  # fmt: skip
    for i in range(invigilators):
        create_invigilator(exam=exam, username=f"invigilator{i}", password=PASSWORD)
    port = free_port()
    stack = start_stack(env, concurrency, port, log_dir / "stack.log")
    base = f"http://127.0.0.1:{port}"
    try:
        cookies = [login_cookie(base, f"invigilator{i}", PASSWORD) for i in range(invigilators)]
        listeners = [_Listener(base, exam.pk, cookie) for cookie in cookies]
        pollers = [_Poller(base, exam.pk, cookie, poll_every) for cookie in cookies]
        switching = max(1, round(0.2 * students))
        senders = [
            _Student(base, s.token, clips, switches=i < switching) for i, s in enumerate(sessions)
        ]
        backends = _Backends()
        for thread in [*listeners, *pollers, *senders]:
            thread.start()
        start = time.time()
        time.sleep(warmup)
        backends.start()
        before = _counters(sessions, backends)
        time.sleep(seconds)
        after = _counters(sessions, backends)
        for thread in [*senders, *pollers, backends]:
            thread.stop.set()
            thread.join()
        time.sleep(3)  # the last frames' results are still on their way
        for listener in listeners:
            listener.stop.set()
            listener.join()
    finally:
        stop(stack)
    window = (start + warmup, start + warmup + seconds)
    return _summary(senders, sessions, listeners[0], pollers, before, after, window) | {
        "students": students, "invigilators": invigilators, "seconds": seconds,
        "worker_processes": concurrency, "database": settings.DATABASES["default"]["ENGINE"],
        "pool": settings.DATABASES["default"].get("OPTIONS", {}).get("pool"),
        "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    }  # fmt: skip


class _Poller(threading.Thread):
    """An invigilator's catch-up requests: the flag list of the exam, every few seconds."""

    def __init__(self, base: str, exam_id: int, cookie: str, every: float) -> None:
        super().__init__(daemon=True)
        self.host = urllib.parse.urlsplit(base).netloc
        self.path, self.cookie, self.every = f"/api/flags/?exam={exam_id}", cookie, every
        self.codes: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, timeout=30)
        while not self.stop.wait(self.every):
            try:
                connection.request("GET", self.path, headers={"Cookie": self.cookie})
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
                connection.close()
            self.codes[status] = self.codes.get(status, 0) + 1


def _counters(sessions, stats: "_Backends") -> dict:
    """The totals that the window's figures are differences of."""
    return {
        "time": time.time(),
        "dropped": sum(frames.dropped_frames(s) for s in sessions),
        "failed": sum(frames.failed_frames(s) for s in sessions),
        "sessions": stats.sessions(),
        "backends": len(stats.seen),
        "checks_run": _checks_run(),
    }


class _Backends(threading.Thread):
    """PostgreSQL's own count of connections made to the scratch database (its `sessions`
    counter, 14+), and the product's backends (by application_name) seen every 0.2 s; read
    over a connection to the `postgres` database, so not counted. Nothing for SQLite."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.database = settings.DATABASES["default"]
        self.seen: set[tuple[int, float]] = set()  # (pid, backend start)
        self.stop = threading.Event()
        self.connection = None
        if self.database["ENGINE"].endswith("postgresql"):
            import psycopg

            self.connection = psycopg.connect(
                host=self.database["HOST"], port=self.database["PORT"] or 5432,
                user=self.database["USER"], password=self.database["PASSWORD"],
                dbname="postgres", autocommit=True,
            )  # fmt: skip

    def sessions(self) -> int | None:
        if self.connection is None:
            return None
        self.connection.execute("SELECT pg_stat_clear_snapshot()")
        row = self.connection.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [self.database["NAME"]]
        ).fetchone()
        return int(row[0])

    def run(self) -> None:
        if self.connection is None:
            return
        query = """SELECT pid, extract(epoch FROM backend_start) FROM pg_stat_activity
                   WHERE datname = %s AND application_name = %s"""
        name = self.database["OPTIONS"].get("application_name", "")
        while not self.stop.wait(0.2):
            # psycopg serialises this with the main thread's readings of `sessions`.
            rows = self.connection.execute(query, [self.database["NAME"], name]).fetchall()
            self.seen.update((pid, float(start)) for pid, start in rows)


def _checks_run() -> int:
    """Stopped-stream checks the worker has run (those expired unrun are not counted)."""
    from invigilation.celery import app

    stats = app.control.inspect(timeout=10).stats() or {}
    return sum(s.get("total", {}).get(CHECK_TASK, 0) for s in stats.values())


def _summary(senders, sessions, listener, pollers, before, after, window) -> dict:
    span = after["time"] - before["time"]
    posts = [
        (t, code, ms) for sender in senders for t, code, ms in _timed(sender)
        if window[0] <= t < window[1]
    ]  # fmt: skip
    sends = {s.pk: sender.sent for s, sender in zip(sessions, senders, strict=True)}
    statuses = _latencies(listener.statuses, sends, window)
    alerts = _latencies(listener.flags, sends, window)
    accepted = sum(1 for _, code, _ in posts if code == 202)
    polls: dict[int, int] = {}
    for poller in pollers:
        for code, n in poller.codes.items():
            polls[code] = polls.get(code, 0) + n
    new_sessions = None if before["sessions"] is None else after["sessions"] - before["sessions"]
    return {
        "frames_sent": len(posts),
        "accepted": accepted,
        "refused": _codes(code for _, code, _ in posts if code != 202),
        "analysed": len(statuses),
        "dropped": after["dropped"] - before["dropped"],
        "failed": after["failed"] - before["failed"],
        "post_p95_ms": percentiles(ms for _, _, ms in posts)["p95"],
        "status_p95_ms": percentiles(statuses)["p95"],
        "alerts": len(alerts),
        "alert_p95_ms": percentiles(alerts)["p95"],
        "polls": polls,
        "connections": new_sessions,
        "connections_per_s": None if new_sessions is None else round(new_sessions / span, 2),
        "backends_seen": after["backends"] if before["sessions"] is not None else None,
        "checks_sent": round(span / 5),  # beat's schedule: every 5 s
        "checks_run": after["checks_run"] - before["checks_run"],
    }


def _timed(sender) -> list[tuple[float, int, float]]:
    return [(t, code, ms) for (t, code), ms in zip(sender.sent, sender.durations, strict=True)]


def _codes(codes) -> dict[int, int]:
    counts: dict[int, int] = {}
    for code in codes:
        counts[code] = counts.get(code, 0) + 1
    return counts


def markdown(row: dict) -> str:
    columns = [
        ("database", "database"), ("pool", "pool"), ("conn_max_age", "CONN_MAX_AGE"),
        ("connections_per_s", "new connections/s"), ("backends_seen", "backends seen"),
        ("frames_sent", "frames sent"),
        ("accepted", "accepted"), ("analysed", "analysed"), ("dropped", "dropped"),
        ("failed", "failed"), ("post_p95_ms", "POST p95 ms"),
        ("status_p95_ms", "status p95 ms"), ("alert_p95_ms", "flag p95 ms"),
        ("checks_run", "stopped-stream checks run"), ("checks_sent", "checks sent"),
    ]  # fmt: skip
    return table([row], columns)
