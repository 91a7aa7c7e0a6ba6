"""Real-data fixtures; tests needing ../shared/data skip with a clear message without it."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from invigilation.vision.bench import single_thread
from invigilation.vision.datasets import Pair, data_dir, read_pairs, video_frames


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    """As the product runs: on a busy 2-core machine, torch's default pool thrashes (~30x)."""
    single_thread()


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set INVIGILATION_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def lfw_dir() -> Path:
    return _require(data_dir() / "lfw-dev")


@pytest.fixture(scope="session")
def lfw_pairs(lfw_dir: Path) -> list[Pair]:
    return read_pairs(lfw_dir / "pairs.tsv")


@pytest.fixture(scope="session")
def lfw_sample(lfw_pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """20 same + 20 different pairs drawn at random with a fixed seed (not hand-picked)."""
    rng = random.Random(1234)
    same = rng.sample([p for p in lfw_pairs if p.same], 20)
    different = rng.sample([p for p in lfw_pairs if not p.same], 20)
    return same, different


@pytest.fixture(scope="session")
def lfw_image(lfw_dir: Path) -> Callable[[str], np.ndarray]:
    """Reads an LFW image (BGR) by its pairs.tsv name."""

    def read(name: str) -> np.ndarray:
        image = cv2.imread(str(lfw_dir / "images" / name))
        assert image is not None, name
        return image

    return read


@pytest.fixture(scope="session")
def webcam_frame() -> np.ndarray:
    """A frame from the middle of the desk clip, long side 640 (BGR)."""
    video = _require(data_dir() / "video" / "d13.mp4")
    return list(video_frames(video, 640, step=50))[3]


@pytest.fixture(scope="session")
def video_path() -> Path:
    return _require(data_dir() / "video" / "d9.mp4")
