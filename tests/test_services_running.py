"""The real processes: a Celery worker over Redis, and the one-command run."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from invigilation.core.embedded_redis import free_port
from invigilation.core.tasks import ping

ROOT = Path(__file__).resolve().parents[1]


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env},
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> int:
    os.killpg(process.pid, signal.SIGTERM)
    return process.wait(timeout=30)


def test_a_celery_worker_runs_tasks_sent_through_redis(redis_url, tmp_path):
    queue = f"test-{os.getpid()}"
    worker = start(
        ["-m", "celery", "-A", "invigilation.celery", "worker", "--pool", "solo", "-Q", queue,
         "--hostname", f"{queue}@%h", "--without-mingle", "--without-gossip"],
        {"REDIS_URL": redis_url}, tmp_path / "worker.log",
    )  # fmt: skip
    try:
        assert ping.apply_async(queue=queue).get(timeout=60) == "pong"
    finally:
        stop(worker)


def test_run_command_serves_the_site_and_stops_everything(tmp_path):
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "INVIGILATION_VAR_DIR": str(tmp_path),
        "REDIS_URL": "",
    }
    run = start(["manage.py", "run", "--port", str(port)], env, tmp_path / "run.log")
    log = tmp_path / "run.log"
    try:
        deadline = time.monotonic() + 120
        while "Press Ctrl-C to stop." not in log.read_text():
            assert run.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as response:
            assert b"Log in" in response.read()
        output = log.read_text()
        assert "embedded redis-server" in output
        assert "login       admin / " in output and "login       invigilator / " in output
    finally:
        run.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert run.wait(timeout=30) == 0, log.read_text()
    assert "Stopped." in log.read_text()
    time.sleep(0.5)
    leftovers = subprocess.run(["pgrep", "-f", f"-p {port} "], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "the web server outlived the run command"
