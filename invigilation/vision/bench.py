"""Per-stage milliseconds per webcam frame (long side 640), one thread, after a warm-up."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .analyse import analyse_frame, checks_for_frame
from .datasets import video_frames
from .images import encode_jpeg
from .verify import enrol

STAGES = ("decode", "detect", "embed", "verify", "expression", "pose", "quality")


def single_thread() -> None:
    """dlib is single-threaded already; OpenCV and torch are pinned to one thread."""
    import torch  # noqa: PLC0415 - only the benchmark pins torch's pool

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def bench(
    video: Path, max_frames: int | None = None, warmup: int = 5, identity_every: int = 1
) -> dict:
    """Mean stage timings over the clip; the student is enrolled from the clip's first frame."""
    single_thread()
    frames = islice(video_frames(video, 640), None if max_frames is None else warmup + max_frames)
    jpegs = [encode_jpeg(f) for f in frames]  # as the browser sends them; not timed
    enrolment = enrol([jpegs[0]])
    for jpeg in jpegs[:warmup]:
        analyse_frame(jpeg, enrolment)
    timings, matches = [], []
    for i, jpeg in enumerate(tqdm(jpegs[warmup:], desc="bench")):
        result = analyse_frame(jpeg, enrolment, checks_for_frame(i, identity_every))
        timings.append(result.timings_ms)
        matches += [f.identity.is_match for f in result.faces if f.identity]
    mean = {f"{s}_ms": _mean(t.get(s, 0.0) for t in timings) for s in STAGES}
    return {
        "frames": len(timings),
        **mean,
        "total_ms": _mean(t["total"] for t in timings),
        "identity_every": identity_every,
        "embed_ms_per_call": _mean(t["embed"] for t in timings if "embed" in t),
        "match_rate": _mean(matches),
    }


def _mean(values) -> float:
    values = list(values)
    return round(float(np.mean(values)), 2) if values else 0.0
