"""Frame POST to invigilator WebSocket, against the whole product running on loopback.

Simulated students post JPEG frames at 1 fps over HTTP keep-alive, one thread each; an
invigilator's WebSocket receives each analysed frame's status and each flag. Latency is
measured from the moment the student sent the frame's POST (same clock, one machine).
Some students alternate between the enrolled person's clip and an impostor's, with the
exam's thresholds set so every impostor identity check raises a flag: alerts to time.
"""

import bisect
import http.client
import http.cookiejar
import json
import random
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

from invigilation.benchmarks.environment import start_stack, stop
from invigilation.benchmarks.report import percentiles, table
from invigilation.benchmarks.scenario import create_exam, create_invigilator, webcam_jpegs
from invigilation.core.embedded_redis import free_port
from invigilation.proctoring import frames

SWAP_EVERY = 6  # an impostor-switching student changes clip every 6 frames
ALERT_THRESHOLDS = {"mismatch_checks": 1, "clear_seconds": 0.0}


def run(
    *,
    env: dict[str, str],
    genuine: Path,
    impostor: Path,
    levels: list[int],
    seconds: float = 60.0,
    warmup: float = 10.0,
    concurrency: int = 2,
    switching_share: float = 0.2,
    log_dir: Path,
) -> list[dict]:
    clips = {"genuine": webcam_jpegs(genuine), "impostor": webcam_jpegs(impostor)}
    port = free_port()
    stack = start_stack(env, concurrency, port, log_dir / "stack.log")
    base = f"http://127.0.0.1:{port}"
    try:
        return [
            _level(base, clips, students, seconds, warmup, switching_share)
            | {"worker_processes": concurrency}
            for students in levels
        ]
    finally:
        stop(stack)


def _level(base, clips, students, seconds, warmup, switching_share) -> dict:
    exam, sessions = create_exam(
        title=f"latency-{students}", students=students, enrol_with=clips["genuine"][0],
        thresholds=ALERT_THRESHOLDS,
    )  # fmt: skip
    password = "bench-pass-1234"
    create_invigilator(exam=exam, username=f"watcher{students}", password=password)
    listener = _Listener(base, exam.pk, login_cookie(base, f"watcher{students}", password))
    switching = max(1, round(switching_share * students))
    senders = [
        _Student(base, s.token, clips, switches=i < switching) for i, s in enumerate(sessions)
    ]
    listener.start()
    start = time.time()
    for sender in senders:
        sender.start()
    time.sleep(warmup)
    dropped_before = _dropped(sessions)
    time.sleep(seconds)
    dropped = _dropped(sessions) - dropped_before
    for sender in senders:
        sender.stop.set()
    for sender in senders:
        sender.join()
    time.sleep(3)  # the last frames' results are still on their way
    listener.stop.set()
    listener.join()
    window = (start + warmup, start + warmup + seconds)
    return _summary(students, switching, senders, sessions, listener, window) | {
        "dropped": dropped,
    }


def _dropped(sessions) -> int:
    return sum(frames.dropped_frames(s) for s in sessions)


def _summary(students, switching, senders, sessions, listener, window) -> dict:
    sends = {s.pk: sender.sent for s, sender in zip(sessions, senders, strict=True)}
    statuses = _latencies(listener.statuses, sends, window)
    alerts = _latencies(listener.flags, sends, window)
    codes: dict[int, int] = {}
    for sender in senders:
        for t, code in sender.sent:
            if window[0] <= t < window[1]:
                codes[code] = codes.get(code, 0) + 1
    return {
        "students": students,
        "switching": switching,
        "frames_sent": sum(codes.values()),
        "accepted": codes.get(202, 0),
        "refused": {c: n for c, n in codes.items() if c != 202},
        "analysed": len(statuses),
        **{f"status_{k}_ms": v for k, v in percentiles(statuses).items()},
        "alerts": len(alerts),
        **{f"alert_{k}_ms": v for k, v in percentiles(alerts).items()},
        "alert_max_ms": round(max(alerts), 1) if alerts else None,
    }


def _latencies(messages, sends, window) -> list[float]:
    """ms from the POST that carried the frame to the message's arrival on the socket."""
    accepted = {pk: [t for t, code in sent if code == 202] for pk, sent in sends.items()}
    out = []
    for arrived, session_id, frame_at in messages:
        times = accepted.get(session_id, [])
        i = bisect.bisect_right(times, frame_at) - 1  # the last POST sent before the server got it
        if i >= 0 and window[0] <= times[i] < window[1]:
            out.append(1000 * (arrived - times[i]))
    return out


def login_cookie(base: str, username: str, password: str) -> str:
    """Log in through the login page, as a browser does; returns the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/accounts/login/")
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
    opener.open(urllib.request.Request(
        f"{base}/accounts/login/", urllib.parse.urlencode(form).encode(),
        {"Referer": f"{base}/accounts/login/"},
    ))  # fmt: skip
    if not any(c.name == "sessionid" for c in jar):
        raise RuntimeError(f"could not log in as {username}")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


class _Student(threading.Thread):
    """Posts one frame per second, as the capture page does (one request at a time)."""

    def __init__(self, base: str, token: str, clips: dict, switches: bool) -> None:
        super().__init__(daemon=True)
        self.host = urllib.parse.urlsplit(base).netloc
        self.token, self.clips, self.switches = token, clips, switches
        self.sent: list[tuple[float, int]] = []  # (time the POST started, HTTP status)
        self.durations: list[float] = []  # ms each POST took, answer read
        self.stop = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, timeout=30)
        next_at = time.monotonic() + random.random()  # students do not start in step
        n = 0
        while not self.stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += 1.0
            sent_at = time.time()
            try:
                connection.request("POST", "/api/frames/", self._frame(n), {
                    "Authorization": f"Session {self.token}", "Content-Type": "image/jpeg",
                })  # fmt: skip
                response = connection.getresponse()
                response.read()
                self.sent.append((sent_at, response.status))
            except OSError:
                self.sent.append((sent_at, 0))
                connection.close()
            self.durations.append(1000 * (time.time() - sent_at))
            n += 1

    def _frame(self, n: int) -> bytes:
        impostor = self.switches and (n // SWAP_EVERY) % 2 == 1
        clip = self.clips["impostor" if impostor else "genuine"]
        return clip[n % len(clip)]


class _Listener(threading.Thread):
    """The invigilator's dashboard socket: records when each status and flag arrives."""

    def __init__(self, base: str, exam_id: int, cookie: str) -> None:
        super().__init__(daemon=True)
        self.url = base.replace("http", "ws", 1) + f"/ws/exams/{exam_id}/alerts/"
        self.headers = {"Cookie": cookie, "Origin": base}
        self.statuses: list[tuple[float, int, float]] = []  # (arrived, session, frame time)
        self.flags: list[tuple[float, int, float]] = []
        self.stop = threading.Event()
        self.ready = threading.Event()

    def start(self) -> None:
        super().start()
        if not self.ready.wait(30):
            raise RuntimeError("the dashboard socket did not open")

    def run(self) -> None:
        from websockets.sync.client import connect

        with connect(self.url, additional_headers=self.headers) as socket:
            self.ready.set()
            while not self.stop.is_set():
                try:
                    raw = socket.recv(timeout=0.5)
                except TimeoutError:
                    continue
                self._record(time.time(), json.loads(raw))

    def _record(self, arrived: float, message: dict) -> None:
        if message["type"] == "status":
            status = message["status"]
            self.statuses.append((arrived, status["session"], _ts(status["at"])))
        elif message["type"] == "flag":
            flag = message["flag"]
            self.flags.append((arrived, flag["session"], _ts(flag["raised_at"])))


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def markdown(rows: list[dict]) -> str:
    columns = [
        ("students", "students"), ("worker_processes", "worker processes"),
        ("frames_sent", "frames sent"), ("accepted", "accepted"), ("refused", "refused"),
        ("analysed", "analysed"), ("dropped", "dropped (counted)"),
        ("status_p50_ms", "status p50 ms"), ("status_p95_ms", "status p95 ms"),
        ("status_p99_ms", "status p99 ms"), ("alerts", "alerts"),
        ("alert_p50_ms", "alert p50 ms"), ("alert_p95_ms", "alert p95 ms"),
        ("alert_p99_ms", "alert p99 ms"),
    ]  # fmt: skip
    return table(rows, columns)
