"""Decoding untrusted frames: JPEG/PNG bytes or BGR arrays -> BGR uint8, with size limits."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4000
# Below any face the models find; a thinner image would shrink to zero pixels on the way.
MIN_SIDE = 32
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "BMP"}

ImageInput = bytes | bytearray | memoryview | np.ndarray


class InvalidImage(ValueError):
    """The input is not a usable image (empty, corrupt, too large or of an unknown kind)."""


def load_image(image: ImageInput, rgb: bool = False) -> np.ndarray:
    """Return a BGR (or, with `rgb`, RGB) uint8 (H, W, 3) array or raise `InvalidImage`.

    Arrays given are BGR. `rgb` costs nothing for encoded images (the JPEG decoder writes RGB
    directly); flipping the channels of a decoded 640x480 frame in numpy costs ~2 ms.
    """
    if isinstance(image, np.ndarray):
        bgr = _check_array(image)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if rgb else bgr
    if isinstance(image, bytes | bytearray | memoryview):
        return _decode(bytes(image), cv2.IMREAD_COLOR_RGB if rgb else cv2.IMREAD_COLOR)
    raise InvalidImage(f"expected image bytes or a numpy array, got {type(image).__name__}")


def _check_array(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        raise InvalidImage(f"array must be uint8, got {image.dtype}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    elif image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImage(f"array must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    _check_size(image.shape[1], image.shape[0])
    return np.ascontiguousarray(image)


def _decode(data: bytes, flag: int = cv2.IMREAD_COLOR) -> np.ndarray:
    if not data:
        raise InvalidImage("empty image")
    if len(data) > MAX_BYTES:
        raise InvalidImage(f"image is {len(data)} bytes; the limit is {MAX_BYTES}")
    # Pillow reads only the header here, so a decompression bomb is refused before decoding.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as header:
                fmt, (width, height) = header.format, header.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidImage(f"not a readable image: {exc}") from None
    if fmt not in ALLOWED_FORMATS:
        raise InvalidImage(f"unsupported image format {fmt}")
    _check_size(width, height)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if decoded is None:
        raise InvalidImage(f"corrupt {fmt} data")
    return decoded


def _check_size(width: int, height: int) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise InvalidImage(f"image is {width}x{height}; each side must be at least {MIN_SIDE} px")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise InvalidImage(f"image is {width}x{height}; the limit is {MAX_SIDE}x{MAX_SIDE}")


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of a BGR image (as a browser would send a frame)."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InvalidImage("could not encode image as JPEG")
    return buf.tobytes()


def resize_long_side(image: np.ndarray, long_side: int) -> np.ndarray:
    """Resize so the longer side is `long_side` (aspect ratio kept)."""
    height, width = image.shape[:2]
    scale = long_side / max(height, width)
    if scale == 1:
        return image
    size = (round(width * scale), round(height * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interp)
