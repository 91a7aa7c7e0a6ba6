"""Frames waiting for analysis, held in Redis by reference: only the latest one per student.

The broker carries a session id, never image bytes. A frame expires after FRAME_TTL_SECONDS
so a worker that falls behind analyses what the camera shows now, not a backlog.
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

from invigilation.exams.models import ExamSession


@dataclass(frozen=True)
class PendingFrame:
    jpeg: bytes
    received_at: float


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def _key(session: ExamSession, kind: str) -> str:
    # The token's digest makes keys unique to this session even if ids are reused (a database
    # restored or recreated against the same Redis must not inherit another run's state).
    digest = hashlib.sha256(session.token.encode()).hexdigest()[:16]
    return f"stream:{session.pk}:{digest}:{kind}"


def admit(session: ExamSession, min_interval: float) -> bool:
    """Rate limit: False when the session sent a frame less than min_interval seconds ago."""
    key = _key(session, "rate")
    return bool(client().set(key, 1, nx=True, px=max(1, int(min_interval * 1000))))


def put_latest(session: ExamSession, frame: PendingFrame) -> bool:
    """Store the frame over any older one; True when a task must be queued for it.

    An older frame still waiting is dropped and counted: when workers fall behind, each
    student has at most one frame and one task waiting, however long the overload lasts.
    """
    ttl = settings.FRAME_TTL_SECONDS
    frame_key = _key(session, "frame")
    pipe = client().pipeline()
    pipe.hset(frame_key, mapping={"jpeg": frame.jpeg, "at": frame.received_at})
    pipe.expire(frame_key, ttl)
    pipe.set(_key(session, "queued"), 1, nx=True, ex=ttl)
    fields_added, _, queued = pipe.execute()
    if not fields_added:
        _count_drop(session)
    return bool(queued)


def take_latest(session: ExamSession) -> PendingFrame | None:
    """Remove and return the waiting frame; a later frame will queue a new task."""
    pipe = client().pipeline()
    pipe.hgetall(_key(session, "frame"))
    pipe.delete(_key(session, "frame"), _key(session, "queued"))
    stored = pipe.execute()[0]
    if not stored:
        _count_drop(session)  # expired before a worker got to it
        return None
    return PendingFrame(jpeg=stored[b"jpeg"], received_at=float(stored[b"at"]))


def _count_drop(session: ExamSession) -> None:
    pipe = client().pipeline()
    pipe.incr(_key(session, "dropped"))
    pipe.expire(_key(session, "dropped"), 24 * 3600)
    pipe.execute()


def dropped_frames(session: ExamSession) -> int:
    """Frames of the session replaced or expired before a worker analysed them."""
    return int(client().get(_key(session, "dropped")) or 0)


def count_frame(session: ExamSession) -> int:
    """0, 1, 2, ... for the session's analysed frames (for checks run every N-th frame)."""
    key = _key(session, "count")
    pipe = client().pipeline()
    pipe.incr(key)
    pipe.expire(key, 24 * 3600)
    return int(pipe.execute()[0]) - 1


def rules_state(session: ExamSession) -> dict | None:
    raw = client().get(_key(session, "rules"))
    return json.loads(raw) if raw else None


def save_rules_state(session: ExamSession, state: dict, ttl_seconds: int) -> None:
    client().set(_key(session, "rules"), json.dumps(state), ex=ttl_seconds)


@contextmanager
def session_lock(session: ExamSession) -> Iterator[None]:
    """One frame of a session at a time through the rules, whatever the worker count."""
    with client().lock(_key(session, "lock"), timeout=30, blocking_timeout=30):
        yield
