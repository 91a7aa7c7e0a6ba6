"""Locating the shared development data and reading LFW pair lists and webcam clips."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .images import resize_long_side


def data_dir() -> Path:
    """`../shared/data` beside the repository, or $INVIGILATION_DATA_DIR."""
    override = os.environ.get("INVIGILATION_DATA_DIR")
    if override:
        return Path(override)
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


@dataclass(frozen=True)
class Pair:
    image_a: str
    image_b: str
    same: bool


def read_pairs(path: str | Path) -> list[Pair]:
    """Pairs from a TSV with header `image_a image_b same` (same: 1/0)."""
    with open(path, newline="") as f:
        rows = csv.DictReader(f, delimiter="\t")
        missing = {"image_a", "image_b", "same"} - set(rows.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}")
        return [
            Pair(r["image_a"], r["image_b"], r["same"].strip() in {"1", "true", "True"})
            for r in rows
        ]


def video_frames(path: str | Path, long_side: int = 640, step: int = 1) -> Iterator[np.ndarray]:
    """Every `step`-th frame of a video, BGR, resized so the longer side is `long_side`."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open video {path}")
    try:
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            if index % step == 0:
                yield resize_long_side(frame, long_side)
            index += 1
    finally:
        cap.release()
