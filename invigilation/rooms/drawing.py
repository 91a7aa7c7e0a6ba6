"""Pictures of a room frame: the whole frame scaled down with every face boxed (a flag's
thumbnail, the room view) and one face's crop (a flag's snapshot). Pillow only: the web
process draws the room view on demand and must not load OpenCV."""

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

THUMBNAIL_SIDE = 1280  # long side of the whole-frame pictures
CROP_MIN_SIDE = 160  # a 40 px face is scaled up to this, to be seen at all
CROP_PADDING = 0.6  # of the face's size on each side: the head and shoulders, some context

# By what the frame's reading says of the face.
COLOURS = {
    "identified": (40, 170, 60),
    "unknown": (220, 40, 40),
    "ambiguous": (235, 150, 20),
    "too_small": (150, 150, 150),
}


def face_state(*, student: str | None, distance: float | None, ambiguous: bool) -> str:
    """identified, ambiguous (near a student, not told apart from another), too_small (not
    compared: too small or blurred to identify) or unknown (like none of the students)."""
    if student is not None:
        return "identified"
    if ambiguous:
        return "ambiguous"
    return "too_small" if distance is None else "unknown"


def boxed_frame(
    jpeg: bytes, faces: Sequence[dict], highlight: Sequence[float] | None = None
) -> bytes:
    """The frame at most THUMBNAIL_SIDE px long with each face boxed in its state's colour and
    labelled (student, distance); `highlight`, the box a flag is about, drawn thicker."""
    with Image.open(io.BytesIO(jpeg)) as opened:
        width, height = opened.size
        scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
        opened.draft("RGB", (round(width * scale), round(height * scale)))  # a 4K JPEG at 1/2
        image = opened.convert("RGB").resize((round(width * scale), round(height * scale)))
    draw = ImageDraw.Draw(image)
    for face in faces:
        box = [round(v * scale) for v in face["box"]]
        colour = COLOURS[face["state"]]
        wide = highlight is not None and list(face["box"]) == list(highlight)
        draw.rectangle(box, outline=colour, width=5 if wide else 2)
        label = _label(face)
        if label:
            draw.text((box[0], max(0, box[1] - 12)), label, fill=colour)
    return _jpeg(image)


def _label(face: dict) -> str:
    distance = f"{face['distance']:.2f}" if face.get("distance") is not None else ""
    if face.get("student"):
        return f"{face['student']} {distance}".strip()
    if face["state"] == "unknown":
        return f"? {distance}"
    return ""


def face_crop(jpeg: bytes, box: Sequence[float]) -> bytes:
    """The face with some room around it, scaled up to at least CROP_MIN_SIDE px."""
    with Image.open(io.BytesIO(jpeg)) as opened:
        image = opened.convert("RGB")
    left, top, right, bottom = box
    pad_x, pad_y = (right - left) * CROP_PADDING, (bottom - top) * CROP_PADDING
    crop = image.crop((
        max(0, round(left - pad_x)), max(0, round(top - pad_y)),
        min(image.width, round(right + pad_x)), min(image.height, round(bottom + pad_y)),
    ))  # fmt: skip
    scale = CROP_MIN_SIDE / min(crop.size)
    if scale > 1:
        crop = crop.resize((round(crop.width * scale), round(crop.height * scale)))
    return _jpeg(crop)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
