"""Run the whole product: Redis (embedded unless REDIS_URL is set), Celery, the web server."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.management.utils import get_random_secret_key

from invigilation.celery import app as celery_app
from invigilation.core.embedded_redis import EmbeddedRedis
from invigilation.core.tasks import ping
from invigilation.server.demo import ensure_demo_data


class Command(BaseCommand):
    help = "Migrate, create demo data, then run Redis, a Celery worker and the ASGI server."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--concurrency", type=int, default=1, help="Celery worker processes")
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo users and exam")

    def handle(self, *args, host: str, port: int, concurrency: int, no_demo: bool, **options):
        # Stop the children on Ctrl-C and on `kill`, also when started with SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        creds = (
            []
            if no_demo
            else ensure_demo_data(credentials_file=settings.VAR_DIR / "demo-credentials.txt")
        )
        embedded = None if os.environ.get("REDIS_URL") else EmbeddedRedis().start()
        env = {
            **os.environ,
            "REDIS_URL": embedded.url if embedded else settings.REDIS_URL,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or _local_secret_key(),
            # The console shows warnings and errors, not a line per frame; LOG_LEVEL=INFO
            # brings those back.
            "LOG_LEVEL": os.environ.get("LOG_LEVEL") or "WARNING",
        }
        children = [
            self._spawn("celery", [
                "-m", "celery", "-A", "invigilation.celery", *_celery_quiet(env), "worker",
                "--loglevel", env["LOG_LEVEL"],
                "--concurrency", str(concurrency), "--hostname", f"worker-{port}@%h",
                "--beat", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
            ], env),
            self._spawn("web", [
                "-m", "invigilation.server.web_server", "--host", host, "--port", str(port),
            ], env),
        ]  # fmt: skip
        try:
            self._wait_for_web(host, port, children)
            self._wait_for_worker(env["REDIS_URL"], children)
            self._announce(host, port, creds, env["REDIS_URL"], embedded is not None)
            self._supervise(children)
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            self._stop(children)
            if embedded:
                embedded.stop()
            self.stdout.write("Stopped.")

    def _spawn(self, name: str, args: list[str], env: dict) -> subprocess.Popen:
        # Own process group: Ctrl-C reaches only this command, which stops children in order.
        return subprocess.Popen([sys.executable, *args], env=env, start_new_session=True)

    def _wait_for_web(self, host: str, port: int, children: list, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{host}:{port}/healthz"
        while time.monotonic() < deadline:
            self._check_alive(children)
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise CommandError(f"The web server did not become healthy at {url}.")

    def _wait_for_worker(self, redis_url: str, children: list, timeout: float = 60) -> None:
        celery_app.conf.broker_url = celery_app.conf.result_backend = redis_url
        result = ping.delay()
        deadline = time.monotonic() + timeout
        while not result.ready():
            self._check_alive(children)
            if time.monotonic() > deadline:
                raise CommandError("The Celery worker did not answer a ping.")
            time.sleep(0.2)

    def _announce(self, host, port, creds, redis_url: str, embedded: bool) -> None:
        where = "embedded redis-server" if embedded else "external Redis"
        lines = [
            "",
            f"Invigilation is running at http://{host}:{port}/",
            f"  admin site  http://{host}:{port}/admin/",
            f"  API docs    http://{host}:{port}/api/docs/",
            f"  Redis       {redis_url} ({where})",
            f"  Database    {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}",
        ]
        lines += [f"  login       {c.username} / {c.password}  ({c.role})" for c in creds]
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))

    def _supervise(self, children: list) -> None:
        while True:
            self._check_alive(children)
            time.sleep(0.5)

    def _check_alive(self, children: list) -> None:
        for child in children:
            if child.poll() is not None:
                raise CommandError(f"{child.args[1:4]} exited with code {child.returncode}.")

    def _stop(self, children: list) -> None:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


def _chatty(env: dict) -> bool:
    return env["LOG_LEVEL"].upper() in {"INFO", "DEBUG"}


def _celery_quiet(env: dict) -> list[str]:
    """Celery's start-up banner, only at INFO or below: the run command prints its own."""
    return [] if _chatty(env) else ["--quiet"]


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _local_secret_key() -> str:
    """A key kept in the var folder, so logins survive a restart of a local run."""
    path = settings.VAR_DIR / "secret-key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(get_random_secret_key())
    return path.read_text().strip()
