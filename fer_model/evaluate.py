"""Evaluation: accuracy, per-class accuracy, confusion matrix, speed; optional confusion plot."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .augment import DEFAULT_VIEWS
from .data import FaceCropper, FaceDataset, load_dataset
from .predict import FERPredictor


def load_eval_split(
    path: str | Path,
    usage: str = "PublicTest",
    limit: int = 0,
    face_cropper: FaceCropper | None = None,
) -> FaceDataset:
    """CSV: the rows of `usage` (error if none); image folder: every image (face-cropped if a
    cropper is given; images where it finds no face are reported and left out)."""
    ds = load_dataset(path, face_cropper)
    if Path(path).is_file():
        ds = ds.subset(usage)
        if len(ds) == 0:
            raise ValueError(f"{path}: no rows with Usage={usage}")
    if len(ds) == 0:
        raise ValueError(f"{path}: no images found")
    return ds.head(limit) if limit else ds


def confusion_matrix(labels: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows = true class, columns = predicted class."""
    return np.bincount(labels * n_classes + pred, minlength=n_classes**2).reshape(
        n_classes, n_classes
    )


def evaluate(
    predictor: FERPredictor, ds: FaceDataset, views: str = DEFAULT_VIEWS
) -> dict[str, Any]:
    t0 = time.perf_counter()
    probs = predictor.predict_images(ds.images, views)
    ms = (time.perf_counter() - t0) * 1000 / max(len(ds), 1)
    names = predictor.class_names
    conf = confusion_matrix(ds.labels, probs.argmax(1), len(names))
    support = conf.sum(1)
    per_class = {
        n: (float(conf[i, i] / support[i]) if support[i] else None) for i, n in enumerate(names)
    }
    return {
        "accuracy": float(np.trace(conf) / max(conf.sum(), 1)),
        "n": int(len(ds)),
        "per_class": per_class,
        "confusion": conf.tolist(),
        "ms_per_face": round(ms, 4),
        "views": views,
    }


def plot_confusion(
    result: dict[str, Any], class_names: list[str], path: str | Path, title: str = ""
) -> None:
    import matplotlib

    matplotlib.use("Agg")  # headless: never needs a display
    import matplotlib.pyplot as plt

    conf = np.asarray(result["confusion"], dtype=float)
    norm = conf / np.maximum(conf.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            colour = "white" if norm[i, j] > 0.5 else "black"
            ax.text(j, i, f"{int(conf[i, j])}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {result['accuracy']:.3f} (n={result['n']})")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
