"""Frames waiting for analysis, held in Redis by reference: only the latest one per student.

The broker carries a session id, never image bytes. A frame expires after FRAME_TTL_SECONDS
so a worker that falls behind analyses what the camera shows now, not a backlog.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings


@dataclass(frozen=True)
class PendingFrame:
    jpeg: bytes
    received_at: float


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _frame_key(session_id: int) -> str:
    return f"frames:{session_id}:latest"


def _queued_key(session_id: int) -> str:
    return f"frames:{session_id}:queued"


def admit(session_id: int, min_interval: float) -> bool:
    """Rate limit: False when the session sent a frame less than min_interval seconds ago."""
    key = f"frames:{session_id}:rate"
    return bool(client().set(key, 1, nx=True, px=max(1, int(min_interval * 1000))))


def put_latest(session_id: int, frame: PendingFrame) -> bool:
    """Store the frame over any older one; True when a task must be queued for it."""
    ttl = settings.FRAME_TTL_SECONDS
    pipe = client().pipeline()
    pipe.hset(_frame_key(session_id), mapping={"jpeg": frame.jpeg, "at": frame.received_at})
    pipe.expire(_frame_key(session_id), ttl)
    pipe.set(_queued_key(session_id), 1, nx=True, ex=ttl)
    return bool(pipe.execute()[-1])


def take_latest(session_id: int) -> PendingFrame | None:
    """Remove and return the waiting frame; a later frame will queue a new task."""
    pipe = client().pipeline()
    pipe.hgetall(_frame_key(session_id))
    pipe.delete(_frame_key(session_id), _queued_key(session_id))
    stored = pipe.execute()[0]
    if not stored:
        return None  # expired before a worker got to it
    return PendingFrame(jpeg=stored[b"jpeg"], received_at=float(stored[b"at"]))


def rules_state(session_id: int) -> dict | None:
    raw = client().get(f"rules:{session_id}")
    return json.loads(raw) if raw else None


def save_rules_state(session_id: int, state: dict, ttl_seconds: int) -> None:
    client().set(f"rules:{session_id}", json.dumps(state), ex=ttl_seconds)


@contextmanager
def session_lock(session_id: int) -> Iterator[None]:
    """One frame of a session at a time through the rules, whatever the worker count."""
    with client().lock(f"rules:{session_id}:lock", timeout=30, blocking_timeout=30):
        yield
