"""Shared fixtures for the fer_model tests: tiny generated data, real-data location, threads."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from fer_model.checkpoint import atomic_save, make_checkpoint
from fer_model.data import CLASS_NAMES
from fer_model.models import ModelConfig, build_model

# stem >= 8: a 4-channel channels_last conv backward segfaults in torch 2.13 CPU (oneDNN).
TINY_MODEL = {
    "stem": 8,
    "widths": (8, 8, 8),
    "blocks": (1, 1, 1),
    "cov_channels": 4,
    "fc_hidden": 8,
    "input_size": 44,
}


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    # Tests share 2 cores with a training run: stay on one.
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fer_model.data.CACHE_DIR", tmp_path / "cache")


def data_dir() -> Path:
    env = os.environ.get("FER_DATA_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture
def fer_csv() -> Path:
    path = data_dir() / "fer2013" / "fer2013-train-publictest.csv.gz"
    if not path.exists():
        pytest.skip(f"real FER2013 data not found at {path} (set FER_DATA_DIR)")
    return path


@pytest.fixture
def jaffe_dir() -> Path:
    path = data_dir() / "jaffe"
    if not path.is_dir():
        pytest.skip(f"JAFFE data not found at {path} (set FER_DATA_DIR)")
    return path


def _row(label: int, usage: str, rng: np.random.Generator) -> str:
    # Class-dependent brightness so a tiny model can learn something.
    pixels = np.clip(rng.normal(30 + 30 * label, 20, 2304), 0, 255).astype(int)
    return f"{label},{' '.join(map(str, pixels))},{usage}"


def write_tiny_csv(path: Path, n_train: int = 70, n_test: int = 28, gz: bool = False) -> Path:
    rng = np.random.default_rng(0)
    lines = ["emotion,pixels,Usage"]
    lines += [_row(i % 7, "Training", rng) for i in range(n_train)]
    lines += [_row(i % 7, "PublicTest", rng) for i in range(n_test)]
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_tiny_csv(tmp_path / "tiny.csv")


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    root = tmp_path / "faces"
    for i, name in enumerate(CLASS_NAMES):
        (root / name).mkdir(parents=True)
        grey = rng.integers(0, 256, (64 + i, 60), dtype=np.uint8)
        colour = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
        cv2.imwrite(str(root / name / "a.png"), grey)
        cv2.imwrite(str(root / name / "b.jpg"), colour)
    return root


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    cfg = ModelConfig(name="rescov", **TINY_MODEL)
    norm = {"mean": 0.5, "std": 0.25, "image_size": 48, "input_size": 44}
    ckpt = make_checkpoint(build_model(cfg), cfg, norm, CLASS_NAMES, {"best_public_test": 0.0})
    path = tmp_path / "tiny.pt"
    atomic_save(ckpt, path)
    return path
