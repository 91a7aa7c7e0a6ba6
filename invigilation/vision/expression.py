"""Expression probabilities from `fer_model`, behind a small interface that may be unavailable."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from fer_model.data import CLASS_NAMES  # torch-free (the model itself loads in _load)

from .detect import Box, detect_boxes_rgb, largest_face

CROP_MARGIN = 0.15  # FER2013 crops show a little forehead and jaw around the face box
# Another checkpoint than fer_model's shipped default.pt (e.g. while a model is being trained).
CHECKPOINT_ENV = "INVIGILATION_FER_CHECKPOINT"


class ExpressionModel(Protocol):
    def predict(self, faces: list[np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True)
class Expression:
    probabilities: dict[str, float] | None
    reason: str = ""  # why probabilities is None


_lock = threading.Lock()
_state: dict[str, ExpressionModel | str] = {}


def expression_model() -> ExpressionModel | str:
    """The fer_model predictor, loaded once per process, or the reason it is unavailable."""
    with _lock:
        if "model" not in _state:
            _state["model"] = _load()
        return _state["model"]


def _load() -> ExpressionModel | str:
    try:
        from fer_model.predict import FERPredictor  # noqa: PLC0415 - optional, heavy (torch)

        return FERPredictor.from_checkpoint(os.environ.get(CHECKPOINT_ENV) or None)
    except Exception as exc:  # noqa: BLE001 - any failure means "no expression", not a failed frame
        return f"expression model unavailable: {type(exc).__name__}: {exc}"


def face_crop(grey: np.ndarray, box: Box) -> np.ndarray:
    """Square grey crop around the face box with a small margin; edges replicated."""
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * (1 + 2 * CROP_MARGIN)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    x1, y1 = x0 + round(side), y0 + round(side)
    height, width = grey.shape
    pad = max(0, -x0, -y0, x1 - width, y1 - height)
    if pad:
        grey = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    return grey[y0 + pad : y1 + pad, x0 + pad : x1 + pad]


def fer_face_crop(grey: np.ndarray) -> np.ndarray | None:
    """The largest face of a grey photo, cropped as live frames are (a fer_model FaceCropper)."""
    face = largest_face(detect_boxes_rgb(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)))
    return None if face is None else face_crop(grey, face.box)


def expressions(grey: np.ndarray, boxes: list[Box]) -> list[Expression]:
    """One `Expression` per box (a single batched forward pass)."""
    if not boxes:
        return []
    model = expression_model()
    if isinstance(model, str):
        return [Expression(None, model)] * len(boxes)
    probs = model.predict([face_crop(grey, box) for box in boxes])
    names = getattr(model, "class_names", CLASS_NAMES)
    return [Expression(dict(zip(names, map(float, row), strict=True))) for row in probs]
