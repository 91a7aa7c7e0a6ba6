"""Face embeddings: dlib's ResNet (128-d, Euclidean metric) on a 150-px chip aligned on 5 points.

The network runs in PyTorch (`dlib_resnet`, same weights, same output as dlib to ~1e-6) because
the BLAS-less dlib-bin wheel is several times slower; dlib still cuts the aligned chip.
"""

from __future__ import annotations

import dlib
import numpy as np

from .detect import Face
from .dlib_resnet import CHIP_SIZE, FaceEncoder
from .images import ImageInput, load_image
from .model_files import dlib_model, singleton

EMBEDDING_SIZE = 128
CHIP_PADDING = 0.25  # dlib's default for compute_face_descriptor


@singleton
def face_encoder() -> FaceEncoder:
    return FaceEncoder(dlib_model("dlib_face_recognition_resnet_model_v1.dat"))


def face_chip(rgb: np.ndarray, face: Face) -> np.ndarray:
    """The aligned 150x150 RGB chip dlib's embedder was trained on."""
    points = [dlib.point(round(float(x)), round(float(y))) for x, y in face.landmarks]
    shape = dlib.full_object_detection(dlib.rectangle(*face.box), points)
    return dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)


def embed(image: ImageInput, face: Face) -> np.ndarray:
    """128-d float32 embedding of `face` in `image` (BGR array or encoded bytes)."""
    return embed_rgb(load_image(image, rgb=True), face)


def embed_rgb(rgb: np.ndarray, face: Face) -> np.ndarray:
    """As `embed`, for an already decoded RGB array (the per-frame pipeline decodes once).

    The mean of the chip's and its mirror image's descriptors: on lfw-dev this raised accuracy
    from 98.8% to 99.1% and TAR@FAR=1e-3 from 91% to 96% (RESULTS.md) for one batched pass.
    """
    chip = face_chip(rgb, face)
    return face_encoder()(np.stack([chip, chip[:, ::-1]])).mean(axis=0)
