"""Wall time per named stage of a frame's processing, for benchmarks and slow-frame logs.

The one stage timer of the product: `vision.analyse_frame` times its stages with it, and the
worker (fetch, rules, persist, flag, push) and `benchmarks stages` with the same class.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimer:
    """Milliseconds per stage; a stage nested in another is not counted twice (exclusive)."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self._nested_ms: list[float] = []  # per open stage: time spent in its inner stages

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        self._nested_ms.append(0.0)
        try:
            yield
        finally:
            elapsed = 1000 * (time.perf_counter() - start)
            own = elapsed - self._nested_ms.pop()
            self.ms[name] = self.ms.get(name, 0.0) + own
            if self._nested_ms:
                self._nested_ms[-1] += elapsed
