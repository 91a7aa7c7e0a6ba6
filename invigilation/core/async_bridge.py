"""Runs coroutines from synchronous code on one long-lived event loop per process.

`async_to_sync` starts a new event loop, in a new thread, for every call, and channels_redis
keeps its Redis connections per event loop: every push from a worker paid for a new loop,
thread and connection (2 to 6 ms a frame, measured). One loop per process keeps them.
"""

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0


def _shared_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        if _loop is None or _loop_pid != os.getpid():  # a forked child lacks the loop's thread
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="async-bridge", daemon=True).start()
            _loop_pid = os.getpid()
        return _loop


def run(coroutine: Coroutine[Any, Any, _T], timeout: float = 10.0) -> _T:
    """Wait for `coroutine` on the shared loop; never call it from that loop's own thread."""
    return asyncio.run_coroutine_threadsafe(coroutine, _shared_loop()).result(timeout)
