"""Room frames waiting for analysis, held in Redis by reference, as a student's are
(proctoring/frames.py): only the latest one per camera, expiring after FRAME_TTL_SECONDS; the
broker carries a camera id. A worker takes the frame under its task's id and deletes it once
analysed, so a task delivered again after its worker died finds the same frame.

Also here: the room rules' state per exam (all its cameras feed one room), the last frame each
camera had analysed (so a redelivered task does not observe it twice), and the room view: the
latest analysed frame of each camera with its readings, kept ROOM_VIEW_TTL_SECONDS and never
in the database (frames are not stored; only a flag keeps its pictures as evidence).
"""

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from invigilation.exams.models import Exam
from invigilation.proctoring.frames import PendingFrame, client
from invigilation.rooms.models import Camera

COUNTER_TTL = 24 * 3600
STATE_TTL = 24 * 3600  # the room rules' state outlives any exam day


def _key(camera: Camera, kind: str) -> str:
    # The token's digest: keys unique to this camera even if a recreated database reuses ids.
    digest = hashlib.sha256(camera.token.encode()).hexdigest()[:16]
    return f"room:{camera.pk}:{digest}:{kind}"


def _exam_key(exam: Exam, kind: str) -> str:
    # Exams have no secret; their creation time tells a recreated exam with the same id apart.
    return f"room-exam:{exam.pk}:{exam.created_at.timestamp():.0f}:{kind}"


def view_ttl() -> int:
    return settings.ROOM_VIEW_TTL_SECONDS


def admit(camera: Camera, min_interval: float) -> bool:
    """Rate limit: False when the camera sent a frame less than min_interval seconds ago."""
    return bool(client().set(_key(camera, "rate"), 1, nx=True, px=max(1, int(min_interval * 1000))))


def put_latest(camera: Camera, frame: PendingFrame) -> bool:
    """Store the frame over any older one still waiting; True when a task must be queued."""
    ttl = settings.FRAME_TTL_SECONDS
    stored = {"jpeg": frame.jpeg, "at": frame.received_at, "id": frame.frame_id}
    pipe = client().pipeline()
    pipe.hset(_key(camera, "frame"), mapping=stored)
    pipe.expire(_key(camera, "frame"), ttl)
    pipe.set(_key(camera, "queued"), 1, nx=True, ex=ttl)
    fields_added, _, queued = pipe.execute()
    if not fields_added:
        count(camera, "dropped")  # replaced before a worker got to it
    return bool(queued)


# KEYS: the waiting frame, the frame taken under this claim, the queued marker. A claim that
# holds a frame already (its task was redelivered) gets it back, else it takes the waiting one.
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[3])
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
return redis.call('HGETALL', KEYS[2])
"""


def take_latest(camera: Camera, claim: str) -> PendingFrame | None:
    """The frame for the claim (a task id) to analyse; it stays in Redis until `release`."""
    keys = [_key(camera, "frame"), _key(camera, f"taken:{claim}"), _key(camera, "queued")]
    lifetime = settings.FRAME_TTL_SECONDS + 60  # outlives the task's redeliveries
    flat = client().register_script(_TAKE)(keys=keys, args=[lifetime])
    if not flat:
        count(camera, "dropped")  # expired before a worker got to it
        return None
    stored = dict(zip(flat[::2], flat[1::2], strict=True))
    return PendingFrame(stored[b"jpeg"], float(stored[b"at"]), stored[b"id"].decode())


def release(camera: Camera, claim: str) -> None:
    client().delete(_key(camera, f"taken:{claim}"))


def count(camera: Camera, kind: str) -> int:
    """Add one to a per-camera counter (dropped, failed, analysed) kept a day."""
    key = _key(camera, kind)
    pipe = client().pipeline()
    pipe.incr(key)
    pipe.expire(key, COUNTER_TTL)
    return int(pipe.execute()[0])


def counted(camera: Camera, kind: str) -> int:
    return int(client().get(_key(camera, kind)) or 0)


def already_analysed(camera: Camera, frame_id: str) -> bool:
    """The frame was observed by the rules before (its task delivered again)."""
    return client().get(_key(camera, "last-frame-id")) == frame_id.encode()


def mark_analysed(camera: Camera, frame_id: str) -> None:
    client().set(_key(camera, "last-frame-id"), frame_id, ex=COUNTER_TTL)


def rules_state(exam: Exam) -> dict | None:
    raw = client().get(_exam_key(exam, "rules"))
    return json.loads(raw) if raw else None


def save_rules_state(exam: Exam, state: dict) -> None:
    client().set(_exam_key(exam, "rules"), json.dumps(state), ex=STATE_TTL)


@contextmanager
def room_lock(exam: Exam) -> Iterator[None]:
    """One frame of the room (any of its cameras) at a time through the rules."""
    with client().lock(_exam_key(exam, "lock"), timeout=60, blocking_timeout=60):
        yield


def put_view(camera: Camera, jpeg: bytes, readings: dict) -> None:
    """The camera's latest analysed frame and what was read in it, for the room view."""
    key = _key(camera, "view")
    pipe = client().pipeline()
    pipe.hset(key, mapping={"jpeg": jpeg, "readings": json.dumps(readings)})
    pipe.expire(key, view_ttl())
    pipe.execute()


def latest_view(camera: Camera) -> tuple[bytes, dict] | None:
    """(JPEG, readings) of the camera's latest analysed frame, or None past ROOM_VIEW_TTL."""
    stored = client().hgetall(_key(camera, "view"))
    if not stored:
        return None
    return stored[b"jpeg"], json.loads(stored[b"readings"])
