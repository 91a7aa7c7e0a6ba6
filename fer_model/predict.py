"""Inference on face crops.

`FERPredictor.from_checkpoint().predict(faces)` -> (N, 7) class probabilities.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .augment import DEFAULT_VIEWS, inference_views, to_input
from .checkpoint import DEFAULT_WEIGHTS, load_checkpoint, model_from_checkpoint
from .data import FaceCropper, to_face48
from .models import fuse_for_inference


class FERPredictor:
    """Thread-safe predictor; the forward pass is serialised by a lock (shared mutable model)."""

    def __init__(self, model: nn.Module, ckpt: dict[str, Any], optimize: bool = True) -> None:
        self.class_names: list[str] = list(ckpt["class_names"])
        self.norm: dict[str, float] = dict(ckpt["norm"])
        self.metrics: dict[str, Any] = ckpt.get("metrics", {})
        self.model_config: dict[str, Any] = ckpt["model_config"]
        self._eager = fuse_for_inference(model)
        self._model = self._optimize(self._eager) if optimize else self._eager
        self._lock = threading.Lock()

    @classmethod
    def from_checkpoint(cls, path: str | Path | None = None, optimize: bool = True) -> FERPredictor:
        """Load a checkpoint (default: the shipped fer_model/weights/default.pt)."""
        ckpt = load_checkpoint(path)
        return cls(model_from_checkpoint(ckpt), ckpt, optimize)

    def _optimize(self, model: nn.Module) -> nn.Module:
        # Traced, frozen, oneDNN-converted graph: measured ~30% faster than eager at batch 1.
        size = int(self.norm["input_size"])
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")
                traced = torch.jit.trace(model, torch.zeros(1, 1, size, size))
                return torch.jit.optimize_for_inference(traced)
        except Exception:  # noqa: BLE001 - any tracing failure falls back to eager
            return model

    def preprocess(
        self, faces: list[np.ndarray], face_cropper: FaceCropper | None = None
    ) -> np.ndarray:
        """Grey HxW or BGR HxWx3 uint8 crops of any size -> uint8 (N, 48, 48)."""
        out = [to_face48(np.asarray(f), face_cropper) for f in faces]
        if any(o is None for o in out):
            raise ValueError("face_cropper found no face in some inputs")
        return np.stack(out) if out else np.zeros((0, 48, 48), np.uint8)

    def predict(
        self, faces: list[np.ndarray] | np.ndarray, views: str = DEFAULT_VIEWS
    ) -> np.ndarray:
        """Class probabilities (N, 7) float32, columns in `class_names` order, averaged over
        `views` (see `augment.VIEWS`)."""
        return self.predict_images(self.preprocess(list(faces)), views)

    def predict_images(
        self, images: np.ndarray, views: str = DEFAULT_VIEWS, batch_size: int = 256
    ) -> np.ndarray:
        """Probabilities for already-prepared uint8 (N, 48, 48) faces."""
        if len(images) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        probs = [
            self._forward(images[i : i + batch_size], views)
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(probs).astype(np.float32)

    def _forward(self, images: np.ndarray, views: str) -> np.ndarray:
        x = to_input(images, self.norm["mean"], self.norm["std"])
        crops = inference_views(x, int(self.norm["input_size"]), views)
        # All views in one batch: one forward call costs less than one per view at batch 1.
        with self._lock, torch.inference_mode():
            probs = self._model(torch.cat(crops)).softmax(1)
        return probs.view(len(crops), len(images), -1).mean(0).numpy()

    def predict_labels(self, faces: list[np.ndarray]) -> list[str]:
        return [self.class_names[i] for i in self.predict(faces).argmax(1)]


_default: FERPredictor | None = None
_default_lock = threading.Lock()


def default_predictor() -> FERPredictor:
    """The shipped model, loaded once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FERPredictor.from_checkpoint(DEFAULT_WEIGHTS)
        return _default
