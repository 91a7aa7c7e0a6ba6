"""Pictures waiting for a worker's check, held in Redis by reference, and the results the
student's page polls for: a check-in burst (several frames) or a system check's one frame.

The broker carries ids only, never image bytes. A job's pictures wait at most
CHECK_IN_BURST_TTL_SECONDS and are deleted once a worker has judged them; its result is kept
CHECK_IN_RESULT_TTL_SECONDS. Results are bound to the session (its id and the digest of its
token): another session's token never reads them.

Nothing here imports the face models: this module is used by the web process.
"""

import hashlib
import json
import re
import uuid

from django.conf import settings

from invigilation.exams.models import ExamSession
from invigilation.proctoring.frames import client

CHECK_IN = "check-in"
SYSTEM_CHECK = "system-check"
KINDS = (CHECK_IN, SYSTEM_CHECK)
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
PENDING = {"status": "pending"}
FAILED_MESSAGE = "The check could not be completed: try again."


def _digest(session: ExamSession) -> str:
    return hashlib.sha256(session.token.encode()).hexdigest()[:16]


def _pictures_key(kind: str, job_id: str) -> str:
    return f"{kind}:{job_id}:pictures"


def _result_key(kind: str, job_id: str) -> str:
    return f"{kind}:{job_id}:result"


def store(
    session: ExamSession, kind: str, jpegs: list[bytes], captured_at: list[float] | None = None
) -> str:
    """Keep the pictures for a worker and mark the job pending; returns the job's id."""
    assert kind in KINDS
    job_id = uuid.uuid4().hex
    owner = {"session": session.pk, "digest": _digest(session)}
    pictures = {f"frame:{i}": jpeg for i, jpeg in enumerate(jpegs)}
    pictures["meta"] = json.dumps({**owner, "count": len(jpegs), "captured_at": captured_at})
    pipe = client().pipeline()
    pipe.hset(_pictures_key(kind, job_id), mapping=pictures)
    pipe.expire(_pictures_key(kind, job_id), settings.CHECK_IN_BURST_TTL_SECONDS)
    pipe.set(_result_key(kind, job_id), json.dumps({**owner, "result": PENDING}),
             ex=settings.CHECK_IN_RESULT_TTL_SECONDS)  # fmt: skip
    pipe.execute()
    return job_id


def load(kind: str, job_id: str) -> tuple[list[bytes], list[float] | None] | None:
    """The job's pictures and their capture offsets (ms), or None once they expired."""
    stored = client().hgetall(_pictures_key(kind, job_id))
    if not stored or b"meta" not in stored:
        return None
    meta = json.loads(stored[b"meta"])
    jpegs = [stored.get(f"frame:{i}".encode()) for i in range(meta["count"])]
    if any(jpeg is None for jpeg in jpegs):
        return None
    return jpegs, meta["captured_at"]


def discard(kind: str, job_id: str) -> None:
    """The pictures are judged: they leave Redis."""
    client().delete(_pictures_key(kind, job_id))


def finish(kind: str, job_id: str, result: dict) -> bool:
    """Keep the job's result for the page to poll; False when the job is unknown (expired)."""
    key = _result_key(kind, job_id)
    raw = client().get(key)
    if raw is None:
        return False
    stored = json.loads(raw)
    stored["result"] = {"status": "done", **result}
    client().set(key, json.dumps(stored), ex=settings.CHECK_IN_RESULT_TTL_SECONDS)
    return True


def fail(kind: str, job_id: str) -> bool:
    """The worker could not judge the job: the page is told so, rather than waiting on."""
    return finish(kind, job_id, failed_result(kind))


def failed_result(kind: str) -> dict:
    if kind == CHECK_IN:
        return {"outcome": "error", "verified": None, "message": FAILED_MESSAGE,
                "retry": True, "attempts_left": None}  # fmt: skip
    return {"faces": 0, "brightness": 0.0, "sharpness": 0.0, "problems": [FAILED_MESSAGE],
            "server_ms": 0.0, "error": True}  # fmt: skip


def result(session: ExamSession, kind: str, job_id: str) -> dict | None:
    """What the page is told: {"status": "pending"} or {"status": "done", ...}; None for an
    unknown or expired job, or another session's."""
    if not JOB_ID.match(job_id):
        return None
    raw = client().get(_result_key(kind, job_id))
    if raw is None:
        return None
    stored = json.loads(raw)
    if stored["session"] != session.pk or stored["digest"] != _digest(session):
        return None
    return stored["result"]
