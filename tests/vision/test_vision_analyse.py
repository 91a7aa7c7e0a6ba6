"""analyse_frame on a real webcam frame: documented fields, frontal pose, checks that can be off."""

from __future__ import annotations

import numpy as np
import pytest

from invigilation.vision import (
    Checks,
    InvalidImage,
    analyse_frame,
    checks_for_frame,
    enrol,
    warm_up,
)
from invigilation.vision.expression import face_crop
from invigilation.vision.images import encode_jpeg


def test_full_analysis_of_a_frontal_frame(webcam_frame: np.ndarray) -> None:
    jpeg = encode_jpeg(webcam_frame)
    result = analyse_frame(jpeg, enrol([jpeg]))
    assert (result.width, result.height) == (webcam_frame.shape[1], webcam_frame.shape[0])
    assert result.face_count == 1
    face = result.faces[0]
    assert face.identity is not None and face.identity.is_match
    assert face.head_pose is not None and not face.head_pose.looking_away
    assert abs(face.head_pose.yaw) < 15 and abs(face.head_pose.pitch) < 20
    assert face.expression is not None
    if face.expression.probabilities is None:
        assert face.expression.reason  # model not shipped yet: says why
    else:
        assert sum(face.expression.probabilities.values()) == pytest.approx(1, abs=1e-3)
    assert result.quality is not None and not result.quality.too_dark
    assert {"decode", "detect", "embed", "verify", "pose", "quality", "total"} <= set(
        result.timings_ms
    )


def test_disabled_checks_do_not_run(webcam_frame: np.ndarray) -> None:
    off = Checks(identity=False, expression=False, gaze=False, quality=False)
    result = analyse_frame(webcam_frame, enrol([encode_jpeg(webcam_frame)]), off)
    assert result.face_count == 1 and result.quality is None
    assert (result.faces[0].identity, result.faces[0].head_pose) == (None, None)
    assert set(result.timings_ms) == {"decode", "detect", "total"}


def test_identity_every_nth_frame() -> None:
    assert [checks_for_frame(i, 3).identity for i in range(4)] == [True, False, False, True]
    assert not checks_for_frame(0, 1, Checks(identity=False)).identity


def test_bad_frame_raises_invalid_image() -> None:
    with pytest.raises(InvalidImage):
        analyse_frame(b"\x00\x01garbage")


def test_fer_crop_is_square_with_margin_and_padded_at_edges() -> None:
    grey = np.zeros((100, 100), np.uint8)
    assert face_crop(grey, (40, 40, 60, 60)).shape == (26, 26)
    assert face_crop(grey, (-10, 80, 30, 120)).shape == (52, 52)


def test_warm_up_loads_models_once() -> None:
    from invigilation.vision.embed import face_encoder

    warm_up(Checks(expression=False))
    assert face_encoder() is face_encoder()
