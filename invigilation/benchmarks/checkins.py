"""A whole exam hall checking in at once, against the whole product on loopback.

`students` check-in bursts (12 real 640-px frames from a clip, 3 s at 4 frames/s, as the
capture page sends them; each student's burst starts at another of the clip's first 5 s)
are posted at the same instant, one thread each; each thread then polls its verdict every
0.5 s, as the page does. Measured: the time from the POST to the verdict (p50/p95/max), the
upload's own time, and the outcomes. Meanwhile `streamers` students of another exam, already
checked in, keep posting frames at 1 fps: their frame POST latency and errors before the
check-ins (the baseline) and while they are being judged show whether the web server keeps
answering while the workers are busy.
"""

import http.client
import json
import threading
import time
import urllib.parse
from itertools import islice
from pathlib import Path

from invigilation.benchmarks.environment import start_stack, stop
from invigilation.benchmarks.latency import _Student
from invigilation.benchmarks.report import percentiles, table
from invigilation.benchmarks.scenario import create_exam
from invigilation.core.embedded_redis import free_port
from invigilation.proctoring.management.commands.simulate_student import (
    clip_frames,
    multipart_burst,
)

BURST_FPS = 4  # CHECK_IN_BURST_FPS
BURST_FRAMES = 12  # CHECK_IN_BURST_SECONDS x CHECK_IN_BURST_FPS
OFFSETS = 20  # students' bursts start at one of the clip's first 20 frames (5 s)
POLL_EVERY = 0.5


def run(
    *,
    env: dict[str, str],
    genuine: Path,
    students: int = 100,
    streamers: int = 20,
    baseline: float = 10.0,
    timeout: float = 600.0,
    concurrency: int = 2,
    log_dir: Path,
) -> dict:
    # The clip at 4 frames/s, 640 px, as the capture page sends a burst.
    clip = list(islice(clip_frames(genuine, BURST_FPS, loop=True), BURST_FRAMES + OFFSETS))
    _, checking_in = create_exam(title="checkins", students=students, enrol_with=clip[0])
    _, streaming = create_exam(title="checkins-stream", students=streamers, enrol_with=clip[0])
    port = free_port()
    stack = start_stack(env, concurrency, port, log_dir / "stack.log")
    base = f"http://127.0.0.1:{port}"
    try:
        senders = [_Student(base, s.token, {"genuine": clip}, False) for s in streaming]
        for sender in senders:
            sender.start()
        time.sleep(baseline)
        go = threading.Event()
        hall = [
            _CheckIn(base, s.token, _burst(clip, i), go, timeout) for i, s in enumerate(checking_in)
        ]
        for student in hall:
            student.start()
        time.sleep(0.5)  # every thread waiting at the start line
        started = time.time()
        go.set()
        for student in hall:
            student.join()
        ended = time.time()
        for sender in senders:
            sender.stop.set()
            sender.join()
    finally:
        stop(stack)
    return _summary(hall, senders, started, ended, baseline) | {
        "students": students, "streamers": streamers, "worker_processes": concurrency,
        "burst_frames": BURST_FRAMES,
        "burst_kib": round(sum(len(j) for j in _burst(clip, 0)) / 1024, 1),
    }  # fmt: skip


def _burst(clip: list[bytes], offset: int) -> list[bytes]:
    """A burst from the clip, each student starting a little later than the last."""
    start = offset % OFFSETS
    return clip[start : start + BURST_FRAMES]


class _CheckIn(threading.Thread):
    """One student: waits for the start, posts the burst, polls until the verdict."""

    def __init__(self, base: str, token: str, burst: list[bytes], go, timeout: float) -> None:
        super().__init__(daemon=True)
        self.host = urllib.parse.urlsplit(base).netloc
        self.headers = {"Authorization": f"Session {token}"}
        self.burst, self.go, self.timeout = burst, go, timeout
        self.upload_ms: float | None = None
        self.verdict_s: float | None = None
        self.outcome = "no answer"
        self.error: str | None = None

    def run(self) -> None:
        body, content_type = multipart_burst(self.burst, [250 * i for i in range(len(self.burst))])
        self.go.wait()
        started = time.monotonic()
        connection = http.client.HTTPConnection(self.host, timeout=60)
        try:
            headers = {**self.headers, "Content-Type": content_type}
            status, accepted = self._call(connection, "POST", "/api/me/check-in/", body, headers)
            self.upload_ms = 1000 * (time.monotonic() - started)
            if status != 202:
                self.error = f"POST {status}: {accepted.get('detail')}"
                return
            while time.monotonic() - started < self.timeout:
                time.sleep(POLL_EVERY)
                status, verdict = self._call(connection, "GET", accepted["poll"], None,
                                             self.headers)  # fmt: skip
                if status == 200 and verdict["status"] == "done":
                    self.verdict_s = time.monotonic() - started
                    self.outcome = verdict["outcome"]
                    return
                if status != 200:
                    self.error = f"poll {status}: {verdict.get('detail')}"
                    return
            self.error = "timed out"
        except OSError as exc:
            self.error = f"connection: {exc}"
        finally:
            connection.close()

    @staticmethod
    def _call(connection, method, path, body, headers) -> tuple[int, dict]:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, {"detail": raw[:200].decode(errors="replace")}


def _summary(hall, senders, started, ended, baseline) -> dict:
    verdicts = [s.verdict_s for s in hall if s.verdict_s is not None]
    outcomes: dict[str, int] = {}
    for student in hall:
        outcomes[student.outcome] = outcomes.get(student.outcome, 0) + 1
    errors = [s.error for s in hall if s.error]
    before = _posts(senders, started - baseline, started)
    during = _posts(senders, started, ended)
    verdict = percentiles(verdicts)
    upload = percentiles(s.upload_ms for s in hall if s.upload_ms is not None)
    return {
        "check_ins": len(hall),
        "verdicts": len(verdicts),
        "verdict_p50_s": round(verdict["p50"], 2),
        "verdict_p95_s": round(verdict["p95"], 2),
        "verdict_max_s": round(max(verdicts), 2) if verdicts else None,
        "upload_p50_ms": upload["p50"],
        "upload_p95_ms": upload["p95"],
        "outcomes": outcomes,
        "check_in_errors": len(errors),
        "first_errors": errors[:5],
        "all_verdicts_s": round(ended - started, 1),
        "frames_before": before,
        "frames_during": during,
    }


def _posts(senders, start: float, end: float) -> dict:
    """The streamers' frame POSTs that started in [start, end): count, p50/p95, errors."""
    timed = [
        (code, ms) for sender in senders
        for (at, code), ms in zip(sender.sent, sender.durations, strict=False)
        if start <= at < end
    ]  # fmt: skip
    codes: dict[int, int] = {}
    for code, _ in timed:
        codes[code] = codes.get(code, 0) + 1
    latency = percentiles(ms for _, ms in timed)
    return {
        "posts": len(timed),
        "p50_ms": latency["p50"],
        "p95_ms": latency["p95"],
        "errors": sum(n for code, n in codes.items() if code not in (202, 429)),
        "codes": codes,
    }


def markdown(result: dict) -> str:
    check_ins = table([result], [
        ("check_ins", "check-ins"), ("worker_processes", "worker processes"),
        ("verdicts", "verdicts"), ("verdict_p50_s", "POST to verdict p50 s"),
        ("verdict_p95_s", "p95 s"), ("verdict_max_s", "max s"),
        ("upload_p50_ms", "upload p50 ms"), ("upload_p95_ms", "upload p95 ms"),
        ("check_in_errors", "errors"),
    ])  # fmt: skip
    rows = [
        {"when": "before (baseline)", **result["frames_before"]},
        {"when": "during the check-ins", **result["frames_during"]},
    ]
    frames = table(rows, [
        ("when", f"{result['streamers']} streaming students' frames"), ("posts", "POSTs"),
        ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("errors", "errors (not 202/429)"),
    ])  # fmt: skip
    outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(result["outcomes"].items()))
    return f"{check_ins}\nOutcomes: {outcomes}\n\n{frames}"
