"""Detector comparison on real data: LFW detection rate, faces per webcam frame, ms per frame."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from . import detect
from .datasets import read_pairs, video_frames
from .detect import DETECTORS, Box
from .images import resize_long_side

RawDetector = Callable[[np.ndarray], list[tuple[Box, float]]]

# name -> (registry key, long side the frame is shrunk to before detection or None, grey input)
VARIANTS: dict[str, tuple[str, int | None, bool]] = {
    "hog up0, rgb": ("hog", None, False),
    "hog up0, rgb @400": ("hog", 400, False),
    "hog up0, grey @400 (frames until 2026-12-01)": ("hog", 400, True),
    "hog up0, grey @320": ("hog", 320, True),
    "hog up1, rgb": ("hog-up1", None, False),
    "mtcnn min face 40": ("mtcnn", None, False),
    "mtcnn min face 40 @320": ("mtcnn", 320, False),
    "ssd res10 300x300": ("ssd", None, False),
    "mmod cnn up0": ("mmod", None, False),
    "blazeface short range (chosen), letterboxed to 128": ("blazeface", None, False),
    "previous detect_faces: hog grey @400, mtcnn if none": ("shipped-hog", None, False),
    "shipped detect_faces: blazeface, mtcnn if none": ("shipped-blazeface", None, False),
}
SLOW = {"mmod"}  # measured on a smaller sample so the comparison stays within minutes


@dataclass
class DetectorRow:
    detector: str
    lfw_images: int
    lfw_detection_rate: float
    webcam_frames: int
    faces_per_frame: float
    frames_with_one_face: float
    ms_per_frame: float


def downscaled(detector: RawDetector, long_side: int | None) -> RawDetector:
    """Run `detector` on a frame shrunk to `long_side` and map boxes back."""
    if long_side is None:
        return detector

    def run(rgb: np.ndarray) -> list[tuple[Box, float]]:
        scale = max(rgb.shape[:2]) / long_side
        if scale <= 1:
            return detector(rgb)
        found = detector(resize_long_side(rgb, long_side))
        return [(tuple(round(v * scale) for v in box), score) for box, score in found]

    return run


def shipped(frame_detector: str) -> RawDetector:
    """The product's detect_faces with `frame_detector` first (incl. its 5-point landmarks)."""

    def run(rgb: np.ndarray) -> list[tuple[Box, float]]:
        before, detect.FRAME_DETECTOR = detect.FRAME_DETECTOR, frame_detector
        try:
            return [(f.box, f.score) for f in detect.detect_faces_rgb(rgb)]
        finally:
            detect.FRAME_DETECTOR = before

    return run


def greyscale(detector: RawDetector) -> RawDetector:
    return lambda rgb: detector(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def lfw_sample(pairs_path: Path, images_dir: Path, count: int, seed: int = 0) -> list[np.ndarray]:
    names = sorted({p for pair in read_pairs(pairs_path) for p in (pair.image_a, pair.image_b)})
    chosen = random.Random(seed).sample(names, min(count, len(names)))
    return [cv2.imread(str(images_dir / n))[:, :, ::-1].copy() for n in chosen]


def webcam_sample(videos: list[Path], step: int) -> list[np.ndarray]:
    return [f[:, :, ::-1].copy() for v in videos for f in video_frames(v, 640, step)]


def centred(box: Box, shape: tuple[int, ...]) -> bool:
    """Box centre in the middle 40% of the image: the LFW subject, not a background face."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    h, w = shape[:2]
    return 0.3 * w <= cx <= 0.7 * w and 0.3 * h <= cy <= 0.7 * h


def measure(name: str, detector: RawDetector, lfw: list[np.ndarray], frames: list[np.ndarray]):
    detector(frames[0])  # warm-up
    hits = sum(any(centred(b, im.shape) for b, _ in detector(im)) for im in tqdm(lfw, desc=name))
    counts, elapsed = [], 0.0
    for frame in frames:
        start = time.perf_counter()
        counts.append(len(detector(frame)))
        elapsed += time.perf_counter() - start
    counts_arr = np.array(counts)
    return DetectorRow(
        detector=name,
        lfw_images=len(lfw),
        lfw_detection_rate=round(hits / len(lfw), 4),
        webcam_frames=len(frames),
        faces_per_frame=round(float(counts_arr.mean()), 3),
        frames_with_one_face=round(float((counts_arr == 1).mean()), 4),
        ms_per_frame=round(1000 * elapsed / len(frames), 2),
    )


def compare_detectors(
    pairs: Path,
    images: Path,
    videos: list[Path],
    lfw_count: int = 500,
    step: int = 10,
    only: list[str] | None = None,
) -> list[dict]:
    """One row per detector variant (single-threaded timings); `only`: rows whose name
    contains one of these strings."""
    cv2.setNumThreads(1)
    lfw = lfw_sample(pairs, images, lfw_count)
    frames = webcam_sample(videos, step)
    rows = []
    for name, (key, long_side, grey) in VARIANTS.items():
        if only and not any(part in name for part in only):
            continue
        cut = 16 if key in SLOW else 1
        if key.startswith("shipped-"):
            base = shipped(key.removeprefix("shipped-"))
        else:
            base = DETECTORS[key]()
        detector = downscaled(base, long_side)
        detector = greyscale(detector) if grey else detector
        rows.append(asdict(measure(name, detector, lfw[: len(lfw) // cut], frames[::cut])))
    return rows
