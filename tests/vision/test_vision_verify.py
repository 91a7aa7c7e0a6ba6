"""Identity on real LFW pairs at the shipped threshold, and enrolment photo checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from invigilation.vision import (
    THRESHOLD,
    Enrolment,
    check_enrolment_photo,
    embed,
    enrol,
    verify,
)
from invigilation.vision.datasets import Pair
from invigilation.vision.evaluate import best_face
from invigilation.vision.images import encode_jpeg

Reader = Callable[[str], np.ndarray]


def _embedding(read: Reader, name: str) -> np.ndarray:
    """The centred face, as evaluate-pairs does (LFW photos may show bystanders)."""
    rgb = read(name)[:, :, ::-1].copy()
    failed: set[str] = set()
    embedding = embed(read(name), best_face(rgb, name, failed))
    assert not failed, f"no face detected in {name}"
    return embedding


def _match_rate(read: Reader, pairs: list[Pair]) -> float:
    matches = [
        verify(
            _embedding(read, p.image_a), Enrolment.from_embeddings([_embedding(read, p.image_b)])
        )
        for p in pairs
    ]
    return float(np.mean([m.is_match for m in matches]))


def test_same_person_pairs_match(lfw_image: Reader, lfw_sample: tuple) -> None:
    same, _ = lfw_sample
    assert _match_rate(lfw_image, same) >= 0.9


def test_different_person_pairs_do_not_match(lfw_image: Reader, lfw_sample: tuple) -> None:
    _, different = lfw_sample
    assert _match_rate(lfw_image, different) <= 0.1


def test_enrolment_rejects_a_photo_without_a_face(lfw_image: Reader, lfw_pairs: list) -> None:
    blank = encode_jpeg(np.full((400, 300, 3), 90, np.uint8))
    enrolment = enrol([blank, encode_jpeg(lfw_image(lfw_pairs[0].image_a))])
    assert enrolment.rejections == {0: "no face found"}
    assert enrolment.embeddings.shape == (1, 128)


def test_enrolment_photo_with_two_faces_is_rejected(lfw_image: Reader, lfw_pairs: list) -> None:
    pair = next(p for p in lfw_pairs if not p.same)
    both = np.hstack([lfw_image(pair.image_a), lfw_image(pair.image_b)])
    check = check_enrolment_photo(encode_jpeg(both))
    assert not check.ok and check.embedding is None
    assert check.reason == "2 faces found; the photo must show only the student"


def test_enrolment_photo_with_a_tiny_face_is_rejected(lfw_image: Reader, lfw_pairs: list) -> None:
    face = lfw_image(lfw_pairs[0].image_a)
    canvas = np.full((600, 600, 3), 120, np.uint8)
    canvas[200:325, 200:325] = face[::2, ::2]
    check = check_enrolment_photo(encode_jpeg(canvas))
    assert not check.ok
    assert check.reason.startswith(("face too small", "no face found"))


def test_undecodable_enrolment_photo_gives_a_reason() -> None:
    check = check_enrolment_photo(b"not an image")
    assert not check.ok and check.reason.startswith("invalid image")


def test_verify_needs_an_accepted_photo() -> None:
    with pytest.raises(ValueError, match="no accepted photos"):
        verify(np.zeros(128, np.float32), Enrolment())


def test_threshold_is_a_plausible_dlib_distance() -> None:
    assert 0.4 < THRESHOLD < 0.7
