"""Untrusted frame input: every bad input raises InvalidImage with a message, never crashes."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from invigilation.vision import InvalidImage, detect_faces, load_image
from invigilation.vision.images import MAX_BYTES, encode_jpeg


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (width, height)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is not an image", "not a readable image"),
        (encode_jpeg(np.full((64, 64, 3), 128, np.uint8))[:40], "corrupt|not a readable"),
        (_png(5000, 100), "limit is 4000x4000"),
        (b"\xff\xd8" + b"\0" * (MAX_BYTES + 1), "bytes; the limit"),
    ],
    ids=["empty", "text", "truncated-jpeg", "huge-dimensions", "too-many-bytes"],
)
def test_bad_bytes_raise_invalid_image(data: bytes, message: str) -> None:
    with pytest.raises(InvalidImage, match=message):
        load_image(data)


@pytest.mark.parametrize(
    "value",
    [
        "frame.jpg",
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((10, 10, 5), np.uint8),
        np.zeros((4001, 10), np.uint8),
    ],
    ids=["str", "float-array", "empty-array", "five-channels", "huge-array"],
)
def test_bad_arrays_and_types_raise_invalid_image(value: object) -> None:
    with pytest.raises(InvalidImage):
        load_image(value)  # type: ignore[arg-type]


def test_invalid_image_is_a_value_error() -> None:
    assert issubclass(InvalidImage, ValueError)


def test_jpeg_png_and_grey_arrays_decode_to_bgr() -> None:
    image = np.random.default_rng(0).integers(0, 255, (48, 64, 3), np.uint8)
    assert load_image(encode_jpeg(image)).shape == (48, 64, 3)
    assert load_image(cv2.imencode(".png", image)[1].tobytes()).shape == (48, 64, 3)
    assert load_image(image[:, :, 0]).shape == (48, 64, 3)


def test_blank_image_has_no_faces() -> None:
    assert detect_faces(encode_jpeg(np.full((480, 640, 3), 200, np.uint8))) == []
