"""Frames waiting for analysis, held in Redis by reference: only the latest one per student.

The broker carries a session id, never image bytes. A frame expires after FRAME_TTL_SECONDS
so a worker that falls behind analyses what the camera shows now, not a backlog.
A worker takes the frame under its task's id and deletes it only once analysed: if the worker
dies first, the redelivered task (same id) finds the same frame again.
"""

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import redis
from django.conf import settings

from invigilation.exams.models import ExamSession

COUNTER_TTL = 24 * 3600  # per-session counters (dropped, failed, analysed) are kept a day


@dataclass(frozen=True)
class PendingFrame:
    jpeg: bytes
    received_at: float
    # The idempotency key: one frame record per frame, however often its task is delivered.
    frame_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@cache
def _client(url: str) -> redis.Redis:
    # A Redis that stops answering (rather than refusing) fails requests in seconds, as 503s.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


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
    frame_key, latest_key = _key(session, "frame"), _key(session, "latest")
    stored = {"jpeg": frame.jpeg, "at": frame.received_at, "id": frame.frame_id}
    pipe = client().pipeline()
    pipe.hset(frame_key, mapping=stored)
    pipe.expire(frame_key, ttl)
    pipe.set(_key(session, "queued"), 1, nx=True, ex=ttl)
    # A copy for "look now": the waiting frame is taken by a worker within milliseconds.
    pipe.hset(latest_key, mapping=stored)
    pipe.expire(latest_key, ttl)
    fields_added, _, queued, *_ = pipe.execute()
    if not fields_added:
        count_drop(session)
    return bool(queued)


# KEYS: the waiting frame, the frame taken under this claim, the queued marker, the claim's
# index entry (ARGV: the session's key prefix, the entry's lifetime). A claim that holds a
# frame already (its task was redelivered) gets that frame back, else it takes the waiting
# one (keeping its expiry), and a later frame will queue a new task. The index lets a claim
# given up (`give_up_claim`) find its session's keys without the database.
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3])
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[2])
end
return redis.call('HGETALL', KEYS[2])
"""


def _claim_key(claim: str) -> str:
    return f"claim:{claim}"


def take_latest(session: ExamSession, claim: str) -> PendingFrame | None:
    """The frame for the claim (a task id) to analyse; it stays in Redis until `release`."""
    keys = [
        _key(session, "frame"), _key(session, f"taken:{claim}"), _key(session, "queued"),
        _claim_key(claim),
    ]  # fmt: skip
    # The claim outlives its task's redeliveries, which stop when the task expires.
    lifetime = settings.FRAME_TTL_SECONDS + 60
    flat = client().register_script(_TAKE)(keys=keys, args=[_key(session, ""), lifetime])
    if not flat:
        count_drop(session)  # expired before a worker got to it
        return None
    return _pending(dict(zip(flat[::2], flat[1::2], strict=True)))


def peek_latest(session: ExamSession) -> PendingFrame | None:
    """The student's latest frame, at most FRAME_TTL_SECONDS old, analysed or not (an
    invigilator's "look now"); it expires like the waiting frame and is never stored."""
    stored = client().hgetall(_key(session, "latest"))
    return _pending(stored) if stored else None


def _pending(stored: dict[bytes, bytes]) -> PendingFrame:
    """A frame as put_latest stores it in a Redis hash."""
    return PendingFrame(stored[b"jpeg"], float(stored[b"at"]), stored[b"id"].decode())


def release(session: ExamSession, claim: str) -> None:
    """The claim's frame is analysed (or refused, or lost and counted): delete it."""
    client().delete(_key(session, f"taken:{claim}"), _claim_key(claim))


# KEYS: the claim's index entry. ARGV: the claim, the counter's lifetime. The frame the claim
# still holds is deleted and counted as failed.
_GIVE_UP = """
local prefix = redis.call('GET', KEYS[1])
if not prefix then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('DEL', prefix .. 'taken:' .. ARGV[1]) == 0 then return 0 end
redis.call('INCR', prefix .. 'failed')
redis.call('EXPIRE', prefix .. 'failed', ARGV[2])
return 1
"""


def give_up_claim(claim: str) -> bool:
    """The claim's task will not run again (it expired after its workers died): its frame,
    if it took one, is lost; counted as failed. True when there was one."""
    script = client().register_script(_GIVE_UP)
    return bool(script(keys=[_claim_key(claim)], args=[claim, COUNTER_TTL]))


def count_drop(session: ExamSession) -> None:
    """One more frame of the session dropped unanalysed, by design."""
    _increment(session, "dropped")


def count_failure(session: ExamSession) -> None:
    """One more frame of the session lost to an error while a worker had it."""
    _increment(session, "failed")


def _increment(session: ExamSession, kind: str) -> int:
    """Add one to a per-session counter kept for a day; returns the new count."""
    key = _key(session, kind)
    pipe = client().pipeline()
    pipe.incr(key)
    pipe.expire(key, COUNTER_TTL)
    return int(pipe.execute()[0])


def dropped_frames(session: ExamSession) -> int:
    """Frames of the session replaced or expired before a worker analysed them."""
    return int(client().get(_key(session, "dropped")) or 0)


def failed_frames(session: ExamSession) -> int:
    """Frames of the session a worker took but lost to an error (a crash in the analysis, the
    database failing, a bad image) or gave up on (its task expired after its workers died)."""
    return int(client().get(_key(session, "failed")) or 0)


def next_frame(session: ExamSession) -> tuple[int, dict | None]:
    """The frame's index (0, 1, 2, ... for the session's analysed frames) and the rules' state,
    in one round trip: together they say which checks the frame gets."""
    count = _key(session, "count")
    pipe = client().pipeline()
    pipe.incr(count)
    pipe.expire(count, COUNTER_TTL)
    pipe.get(_key(session, "rules"))
    index, _, raw = pipe.execute()
    return int(index) - 1, json.loads(raw) if raw else None


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
