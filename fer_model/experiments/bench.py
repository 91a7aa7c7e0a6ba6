"""Latency/throughput benchmark of the predictor on CPU."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..augment import DEFAULT_VIEWS
from ..predict import FERPredictor


def _median_ms(fn: Any, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench(
    checkpoint: str | Path | None = None,
    runs: int = 300,
    threads: int = 1,
    views: str = DEFAULT_VIEWS,
) -> dict[str, Any]:
    """ms per face at batch 1 (full predict() call on a 48x48 grey crop) and batch-32 throughput,
    each face's `views` averaged."""
    torch.set_num_threads(threads)
    predictor = FERPredictor.from_checkpoint(checkpoint)
    rng = np.random.default_rng(0)
    one = [rng.integers(0, 256, (48, 48), dtype=np.uint8)]
    batch = [rng.integers(0, 256, (48, 48), dtype=np.uint8) for _ in range(32)]
    big = [rng.integers(0, 256, (120, 120, 3), dtype=np.uint8)]
    ms1 = _median_ms(lambda: predictor.predict(one, views), runs, warmup=30)
    ms_bgr = _median_ms(lambda: predictor.predict(big, views), runs, warmup=10)
    ms32 = _median_ms(lambda: predictor.predict(batch, views), max(runs // 10, 10), warmup=3)
    return {
        "threads": threads,
        "views": views,
        "batch1_ms_per_face": round(ms1, 3),
        "batch1_bgr120_ms_per_face": round(ms_bgr, 3),
        "batch32_ms_per_face": round(ms32 / 32, 3),
        "batch32_faces_per_s": round(32000 / ms32, 1),
        "runs": runs,
        "torch": torch.__version__,
    }
