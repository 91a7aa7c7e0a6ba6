"""PostgreSQL connections are pooled: requests through the real server, run the way the run
command runs it, reuse connections instead of opening one each (issue 20: ~52 a second with
50 students). Without the pool (DATABASE_POOL=false) each request opens its own."""

import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from invigilation.core.embedded_redis import free_port

ROOT = Path(__file__).resolve().parents[1]
REQUESTS, THREADS = 60, 6

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="connection pooling is PostgreSQL's: set DATABASE_URL to a PostgreSQL database",
)


@pytest.fixture
def database() -> str:
    """A scratch database of its own: its `sessions` counter is this test's connections."""
    server = settings.DATABASES["default"]
    name = f"invigilation_conn_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(
        host=server["HOST"], port=server["PORT"] or 5432, user=server["USER"],
        password=server["PASSWORD"], dbname="postgres", autocommit=True,
    )  # fmt: skip
    admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def sessions_made(name: str) -> int:
    """Connections ever made to the database (PostgreSQL 14+), read from another database."""
    server = settings.DATABASES["default"]
    with psycopg.connect(
        host=server["HOST"], port=server["PORT"] or 5432, user=server["USER"],
        password=server["PASSWORD"], dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        query = "SELECT sessions FROM pg_stat_database WHERE datname = %s"
        return int(conn.execute(query, [name]).fetchone()[0])


def get(url: str, deadline: float = 0) -> int:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status
        except OSError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)


@pytest.mark.parametrize("pool", [True, False], ids=["pool", "no-pool"])
def test_requests_reuse_pooled_connections(pool, database, tmp_path, redis_url):
    server = settings.DATABASES["default"]
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{server['USER']}@{server['HOST']}:{server['PORT'] or 5432}"
        f"/{database}",
        "REDIS_URL": redis_url,
        "INVIGILATION_VAR_DIR": str(tmp_path),
    }
    env["DATABASE_POOL"] = str(pool).lower()
    log = tmp_path / "run.log"
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--no-demo", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/healthz"  # a query on the database, as every page makes
    try:
        assert get(url, deadline=time.monotonic() + 180) == 200, log.read_text()
        time.sleep(2)  # the statistics of the start-up's connections are reported
        before = sessions_made(database)
        codes: list[int] = []

        def client() -> None:
            codes.extend(get(url) for _ in range(REQUESTS // THREADS))

        threads = [threading.Thread(target=client) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(2)
        made = sessions_made(database) - before
    finally:
        os.killpg(stack.pid, 15)
        stack.wait(timeout=60)
    assert codes == [200] * REQUESTS
    if pool:
        # At most DATABASE_POOL_MAX_SIZE (10), for the requests running at once.
        assert made <= 10, f"{made} connections for {REQUESTS} requests"
    else:
        # What the pool replaces (and what DATABASE_POOL=false still does): one per request.
        assert made >= REQUESTS, f"{made} connections for {REQUESTS} requests"
