"""Fixed-window rate limits counted in Redis, so every web process shares the counts."""

import hashlib
import logging
import math
import time
from collections.abc import Iterable
from functools import cache

import redis
from django.conf import settings

from invigilation.env import Rate

logger = logging.getLogger(__name__)


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


class Limiter:
    """Counts events per identity (an address, a username...) in windows of the rate's
    length; an identity that reached the limit waits until its window ends.

    When Redis cannot be reached the limits are not applied (and a warning is logged):
    refusing every log-in would be worse than a few unlimited minutes.
    """

    def __init__(self, scope: str, rate_setting: str) -> None:
        self.scope, self.rate_setting = scope, rate_setting

    @property
    def rate(self) -> Rate:
        return Rate(*getattr(settings, self.rate_setting))

    def counts(self, identities: Iterable[str]) -> list[int]:
        """Each identity's events in the current window (none counted without Redis)."""
        keys = self._keys(identities, self.rate, time.time())
        try:
            counts = _client(settings.REDIS_URL).mget(keys)
        except redis.RedisError as exc:
            logger.warning("rate limit %s not checked: %s", self.scope, exc)
            return [0] * len(keys)
        return [int(count or 0) for count in counts]

    def seconds_left(self) -> int:
        """Until the current window ends, when its counts start again from zero."""
        return _until_window_ends(self.rate, time.time())

    def hit(self, identities: Iterable[str]) -> int | None:
        """Count one event for each identity; seconds to wait when that went over the limit."""
        rate, now = self.rate, time.time()
        pipe = _client(settings.REDIS_URL).pipeline()
        for key in self._keys(identities, rate, now):
            pipe.incr(key)
            pipe.expire(key, rate.seconds + 1)
        try:
            counts = pipe.execute()[::2]
        except redis.RedisError as exc:
            logger.warning("rate limit %s not counted: %s", self.scope, exc)
            return None
        if any(count > rate.limit for count in counts):
            return _until_window_ends(rate, now)
        return None

    def _keys(self, identities: Iterable[str], rate: Rate, now: float) -> list[str]:
        prefix = f"{settings.RATE_LIMIT_PREFIX}:{self.scope}:{int(now // rate.seconds)}"
        # Hashed: Redis holds no usernames or addresses, and keys stay short.
        return [f"{prefix}:{hashlib.sha256(i.encode()).hexdigest()[:24]}" for i in identities]


def _until_window_ends(rate: Rate, now: float) -> int:
    return max(1, math.ceil(rate.seconds - now % rate.seconds))


def wait_text(seconds: int) -> str:
    """'45 seconds', '5 minutes': how long to wait, for messages."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
