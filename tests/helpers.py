"""Small helpers shared by the test files (imported as `from helpers import ...`)."""

import io

from PIL import Image


def jpeg(
    colour: tuple[int, int, int] = (120, 120, 120), size: tuple[int, int] = (160, 120)
) -> bytes:
    """A JPEG of one colour: bytes for a frame or photo whose content does not matter, or whose
    colour tells it apart from another (no face in it)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()
