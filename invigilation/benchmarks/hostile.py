"""/healthz latency and the web server's memory while anonymous clients attack it.

The whole product (`manage.py run`) on loopback. First /healthz alone (the reference), then
the same polling while three anonymous clients stream 100 MB uploads to the photo-upload
route over and over (alternately with a Content-Length and chunked, without one) and 300
connections drip a byte a second (half into their headers, half into a declared body),
reconnecting whenever the server hangs up. /healthz is fetched sequentially, a new
connection each time, every 50 ms.
"""

import http.client
import multiprocessing
import socket
import threading
import time
from pathlib import Path

from invigilation.benchmarks.environment import start_stack, stop
from invigilation.benchmarks.report import percentiles, table
from invigilation.core.embedded_redis import free_port

MIB = 1024 * 1024
UPLOAD_PATH = "/api/students/upload-photos/"


def run(
    *, env: dict[str, str], seconds: float, uploads: int, upload_mib: int, drips: int,
    log_dir: Path,
) -> dict:  # fmt: skip
    port = free_port()
    stack = start_stack(env, 1, port, log_dir / "stack.log")
    try:
        web = _web_server_pid(stack.pid)
        quiet = _measure(port, web, seconds, [])
        stop_attack = threading.Event()
        attackers = [_Uploader(port, upload_mib, stop_attack, chunked=i % 2 == 1)
                     for i in range(uploads)]  # fmt: skip
        attackers += [_Drip(port, stop_attack, into_body=i % 2 == 1) for i in range(drips)]
        attacked = _measure(port, web, seconds, attackers, stop_attack)
    finally:
        stop(stack)
    uploaders = [a for a in attackers if isinstance(a, _Uploader)]
    drippers = [a for a in attackers if isinstance(a, _Drip)]
    return {
        "seconds": seconds,
        "quiet": quiet,
        "attacked": attacked
        | {
            "uploads": uploads,
            "upload_attempts": sum(u.attempts for u in uploaders),
            "upload_mib_sent": round(sum(u.sent for u in uploaders) / MIB, 1),
            "drips": drips,
            "drip_disconnects": sum(d.disconnects for d in drippers),
        },
    }


def _measure(port, web_pid, seconds, attackers, stop_attack=None) -> dict:
    rss_before = _rss_mib(web_pid)
    peak = [rss_before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _rss_mib(web_pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for attacker in attackers:
        attacker.start()
    if attackers:
        time.sleep(2)  # every drip connection open, every upload under way
    # In its own process: the attackers' threads would otherwise hold this one's GIL.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        latencies, failures = pool.apply(_poll_healthz, (port, seconds))
    if stop_attack:
        stop_attack.set()
        for attacker in attackers:
            attacker.join(timeout=15)
    done.set()
    sampler.join()
    ms = percentiles(latencies, (50, 95, 99))
    return {
        "healthz": len(latencies),
        "healthz_failed": failures,
        **ms,
        "max": round(max(latencies), 2) if latencies else float("nan"),
        "rss_before_mib": rss_before,
        "rss_peak_mib": peak[0],
    }


def _poll_healthz(port: int, seconds: float) -> tuple[list[float], int]:
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
        except OSError:
            ok = False
        if ok:
            latencies.append((time.monotonic() - start) * 1000)
        else:
            failures += 1
        time.sleep(0.05)
    return latencies, failures


class _Uploader(threading.Thread):
    """Streams real bytes until the server hangs up, then starts again."""

    def __init__(self, port: int, mib: int, stop: threading.Event, chunked: bool) -> None:
        super().__init__(daemon=True)
        self.port, self.size, self.halt, self.chunked = port, mib * MIB, stop, chunked
        self.attempts = self.sent = 0

    def run(self) -> None:
        block = b"\0" * (64 * 1024)
        piece = b"%x\r\n%s\r\n" % (len(block), block) if self.chunked else block
        length = "Transfer-Encoding: chunked" if self.chunked else f"Content-Length: {self.size}"
        while not self.halt.is_set():
            self.attempts += 1
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                    sock.sendall(f"POST {UPLOAD_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n{length}\r\n"
                                 "Content-Type: application/zip\r\n\r\n".encode())  # fmt: skip
                    for _ in range(self.size // len(block)):
                        if self.halt.is_set():
                            return
                        sock.sendall(piece)
                        self.sent += len(block)
            except OSError:
                pass  # refused and hung up on: the expected end of an upload


class _Drip(threading.Thread):
    """One byte a second, reconnecting whenever the server hangs up."""

    def __init__(self, port: int, stop: threading.Event, into_body: bool) -> None:
        super().__init__(daemon=True)
        self.port, self.halt, self.into_body = port, stop, into_body
        self.disconnects = 0

    def run(self) -> None:
        start = b"POST /api/frames/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        start += b"Content-Length: 100000\r\n\r\n" if self.into_body else b""
        while not self.halt.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
                    sock.sendall(start)
                    while not self.halt.wait(1):
                        sock.sendall(b"x")
                    return
            except OSError:
                self.disconnects += 1


def _web_server_pid(run_pid: int) -> int:
    """The web server started by `manage.py run` (one of its children)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{run_pid}/task/{run_pid}/children").read_text().split()
        for pid in children:
            if b"invigilation.server.web_server" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
        time.sleep(0.5)
    raise RuntimeError("no web server process under the run command")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def markdown(result: dict) -> str:
    rows = [{"load": "none (reference)", **result["quiet"]},
            {"load": "3 × 100 MB uploads + 300 drips", **result["attacked"]}]  # fmt: skip
    columns = [("load", "load"), ("healthz", "/healthz"), ("healthz_failed", "failed"),
               ("p50", "p50 ms"), ("p95", "p95 ms"), ("p99", "p99 ms"), ("max", "max ms"),
               ("rss_before_mib", "RSS before MiB"), ("rss_peak_mib", "RSS peak MiB")]  # fmt: skip
    a = result["attacked"]
    return table(rows, columns) + (
        f"\nUploads: {a['upload_attempts']} attempts, each hung up on after "
        f"{a['upload_mib_sent'] / max(a['upload_attempts'], 1):.2f} MiB on average (what the "
        f"sockets' buffers took); drip connections cut and reopened: {a['drip_disconnects']}.\n"
    )
