"""The PyTorch port of dlib's face ResNet gives dlib's own descriptors."""

from __future__ import annotations

from collections.abc import Callable

import dlib
import numpy as np

from invigilation.vision.datasets import Pair
from invigilation.vision.detect import detect_faces_rgb
from invigilation.vision.embed import EMBEDDING_SIZE, embed_rgb, face_chip, face_encoder
from invigilation.vision.model_files import dlib_model


def test_torch_port_matches_dlib(
    lfw_image: Callable[[str], np.ndarray], lfw_pairs: list[Pair]
) -> None:
    reference = dlib.face_recognition_model_v1(
        str(dlib_model("dlib_face_recognition_resnet_model_v1.dat"))
    )
    for pair in lfw_pairs[:2]:
        rgb = lfw_image(pair.image_a)[:, :, ::-1].copy()
        face = detect_faces_rgb(rgb)[0]
        chip = face_chip(rgb, face)
        ours = face_encoder()(chip[None])[0]
        theirs = np.asarray(reference.compute_face_descriptor(chip), np.float32)
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
        embedding = embed_rgb(rgb, face)  # mean with the mirrored chip: close to dlib's
        assert embedding.shape == (EMBEDDING_SIZE,) and embedding.dtype == np.float32
        assert np.linalg.norm(embedding - theirs) < 0.2
