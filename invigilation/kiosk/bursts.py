"""A kiosk burst's pictures, waiting in Redis for a worker, by reference: the broker carries
the attempt's id only. They wait at most CHECK_IN_BURST_TTL_SECONDS and are deleted once
judged. The verdict itself is the KioskAttempt row the page polls.

Nothing here imports the face models: this module is used by the web process."""

from django.conf import settings

from invigilation.proctoring.frames import client


def _key(attempt_id: int) -> str:
    return f"kiosk:{attempt_id}:pictures"


def store(attempt_id: int, jpegs: list[bytes]) -> None:
    key = _key(attempt_id)
    pipe = client().pipeline()
    # A database recreated against the same Redis reuses ids: never append to a stale burst.
    pipe.delete(key)
    pipe.rpush(key, *jpegs)
    pipe.expire(key, settings.CHECK_IN_BURST_TTL_SECONDS)
    pipe.execute()


def load(attempt_id: int) -> list[bytes] | None:
    """The burst's pictures, or None once they expired."""
    return client().lrange(_key(attempt_id), 0, -1) or None


def discard(attempt_id: int) -> None:
    client().delete(_key(attempt_id))
