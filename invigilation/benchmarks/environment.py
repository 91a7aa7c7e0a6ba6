"""Scratch stores for the benchmarks, and the real servers they measure."""

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/invigilation_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
ROOT = Path(__file__).resolve().parents[2]


class BenchmarkError(Exception):
    pass


def configure(database_url: str, redis_url: str) -> dict[str, str]:
    """Point this process at an emptied scratch database and Redis database, set Django up,
    and return the environment for the servers it starts (same stores, same secret key)."""
    name = str(dj_database_url.parse(database_url)["NAME"])
    # The database is dropped and recreated: refuse anything not named for benchmarks.
    if "bench" not in Path(name).name:
        raise BenchmarkError(f"the scratch database name must contain 'bench', not {name!r}")
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        INVIGILATION_VAR_DIR=tempfile.mkdtemp(prefix="invigilation-bench-"),
        CHANNELS_PREFIX="bench",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="invigilation.settings",
    )
    _recreate_database(database_url, name)
    import django
    import redis
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    redis.Redis.from_url(redis_url).flushdb()
    return dict(os.environ)


def _recreate_database(url: str, name: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme.startswith("sqlite"):
        Path(name).unlink(missing_ok=True)
        return
    if not scheme.startswith("postgres"):
        raise BenchmarkError(f"unsupported database {scheme!r}: use PostgreSQL (or SQLite)")
    import psycopg
    from psycopg import sql

    server = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A child process in its own group (stopped with everything it started)."""
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=log.open("wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def start_worker(env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen:
    """A real Celery worker (prefork, `concurrency` processes), answering a ping."""
    from invigilation.core.tasks import ping

    worker = start(
        ["-m", "celery", "-A", "invigilation.celery", "worker", "--pool", "prefork",
         "--concurrency", str(concurrency), "--loglevel", "warning", "--without-gossip",
         "--without-mingle", "--hostname", f"bench-{concurrency}@%h"],
        env, log,
    )  # fmt: skip
    result, deadline = ping.delay(), time.monotonic() + 120
    while not result.ready():
        if worker.poll() is not None or time.monotonic() > deadline:
            stop(worker)
            raise BenchmarkError(f"the Celery worker did not start: see {log}")
        time.sleep(0.2)
    time.sleep(2)  # every pool process loads its models at start (worker_process_init)
    return worker


def start_stack(env: dict[str, str], concurrency: int, port: int, log: Path) -> subprocess.Popen:
    """The whole product as deployed on one host: `manage.py run` (uvicorn, Celery, beat)."""
    stack = start(
        ["manage.py", "run", "--no-demo", "--port", str(port), "--concurrency", str(concurrency)],
        env, log,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while "Press Ctrl-C to stop." not in log.read_text(errors="replace"):
        if stack.poll() is not None or time.monotonic() > deadline:
            stop(stack)
            raise BenchmarkError(f"the server did not start: see {log}")
        time.sleep(0.5)
    time.sleep(2)
    return stack
