"""Detection on real images: webcam frames, LFW photos side by side."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from invigilation.vision import detect_faces
from invigilation.vision.datasets import Pair
from invigilation.vision.images import encode_jpeg


def test_webcam_frame_has_exactly_one_face(webcam_frame: np.ndarray) -> None:
    faces = detect_faces(encode_jpeg(webcam_frame))
    assert len(faces) == 1
    face = faces[0]
    left, top, right, bottom = face.box
    assert 0 <= left < right <= webcam_frame.shape[1] and 0 <= top < bottom <= webcam_frame.shape[0]
    assert face.landmarks.shape == (5, 2)
    assert face.size > 100  # a student at a desk, not a speck


def test_two_lfw_photos_side_by_side_have_two_faces(
    lfw_image: Callable[[str], np.ndarray], lfw_pairs: list[Pair]
) -> None:
    pair = next(p for p in lfw_pairs if not p.same)
    both = np.hstack([lfw_image(pair.image_a), lfw_image(pair.image_b)])
    faces = detect_faces(both)
    assert len(faces) == 2
    assert sorted(f.box[0] < 250 for f in faces) == [False, True]  # one in each half
