"""Identity: enrolment from photos, verification of an embedding against an enrolment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .detect import detect_faces_rgb
from .embed import EMBEDDING_SIZE, embed_rgb
from .images import ImageInput, InvalidImage, load_image

# Euclidean distance between embeddings (flip-averaged dlib descriptors) below which two faces
# are the same person. Obtained once with `python -m invigilation.vision calibrate --pairs
# ../shared/data/lfw-dev/pairs.tsv --images ../shared/data/lfw-dev/images`: the midpoint of the
# accuracy-maximising interval on LFW View 1 DevTrain (2,200 pairs); see RESULTS.md. Never
# refitted on an evaluation set.
THRESHOLD = 0.5994

MIN_FACE_PX = 80  # smaller enrolment faces give unreliable embeddings (dlib chips are 150 px)
MIN_BRIGHTNESS = 40.0


@dataclass(frozen=True)
class Match:
    distance: float
    is_match: bool


@dataclass(frozen=True)
class PhotoCheck:
    ok: bool
    reason: str
    embedding: np.ndarray | None = None


@dataclass
class Enrolment:
    """Embeddings of a student's accepted photos (what is stored), plus per-photo outcomes."""

    embeddings: np.ndarray = field(
        default_factory=lambda: np.zeros((0, EMBEDDING_SIZE), np.float32)
    )
    checks: list[PhotoCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return len(self.embeddings) > 0

    @property
    def rejections(self) -> dict[int, str]:
        """Photo index -> reason, for every rejected photo."""
        return {i: c.reason for i, c in enumerate(self.checks) if not c.ok}

    @classmethod
    def from_embeddings(cls, embeddings: Sequence[Sequence[float]]) -> Enrolment:
        """Rebuild from stored embeddings (e.g. a JSON list of 128-float lists)."""
        return cls(np.asarray(embeddings, np.float32).reshape(-1, EMBEDDING_SIZE))


def check_enrolment_photo(image_bytes: ImageInput) -> PhotoCheck:
    """Accept a photo showing exactly one, large enough, well lit face; else say why not."""
    try:
        bgr = load_image(image_bytes)
    except InvalidImage as exc:
        return PhotoCheck(False, f"invalid image: {exc}")
    rgb = bgr[:, :, ::-1].copy()
    faces = detect_faces_rgb(rgb, enrolment=True)
    if not faces:
        return PhotoCheck(False, "no face found")
    if len(faces) > 1:
        return PhotoCheck(False, f"{len(faces)} faces found; the photo must show only the student")
    face = faces[0]
    if face.size < MIN_FACE_PX:
        return PhotoCheck(False, f"face too small ({face.size} px; at least {MIN_FACE_PX} px)")
    left, top, right, bottom = face.box
    if bgr[max(top, 0) : bottom, max(left, 0) : right].mean() < MIN_BRIGHTNESS:
        return PhotoCheck(False, "face too dark")
    return PhotoCheck(True, "ok", embed_rgb(rgb, face))


def enrol(photos: Sequence[ImageInput]) -> Enrolment:
    """Check every photo; the enrolment keeps the embeddings of the accepted ones."""
    checks = [check_enrolment_photo(p) for p in photos]
    accepted = [c.embedding for c in checks if c.ok]
    embeddings = np.stack(accepted) if accepted else Enrolment().embeddings
    return Enrolment(embeddings, checks)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def verify(embedding: np.ndarray, enrolment: Enrolment) -> Match:
    """Nearest enrolled embedding decides (each photo is compared like one LFW pair)."""
    if not enrolment.ok:
        raise ValueError("the enrolment has no accepted photos")
    nearest = float(np.linalg.norm(enrolment.embeddings - embedding, axis=1).min())
    return Match(distance=round(nearest, 4), is_match=nearest < THRESHOLD)
