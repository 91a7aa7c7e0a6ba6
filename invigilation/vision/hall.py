"""1:N identification for exams in a room: one face at the kiosk, every face of a hall frame.

`identify` judges one embedding against a roster (the kiosk: one large face, up to ~300
students). `analyse_room_frame` finds every face of a 1920x1080 (or 4K) hall frame, embeds
those at least `MIN_IDENTIFY_PX` wide and reads the frame as a whole against the room's
students with `decisions.assignment.assign` (one face per student, open set).

Detection: BlazeFace short-range (128x128 input) over overlapping square tiles, on a pyramid
(full frame, then halved, ... until one tile covers it). The model finds faces down to ~11% of
its input; a 320-px tile makes a 40-px face 12.5% of it (on hall-dev, 256-px tiles on a frame
shrunk to 2/3, i.e. ~10%, missed 16% of the 40-48 px faces). Tiles overlap by 80 px, so every
face up to 80 px lies whole in some tile; larger ones are found whole one level up. Duplicates
across tiles and levels are merged by score (IoU >= 0.3, or a centre inside another box).
Choice, costs and the alternatives measured: HALL-RESULTS.md.

Alignment as the embedder was calibrated: dlib's 5 points on the box dlib's HOG gives the face,
HOG re-run in a window around the BlazeFace box scaled so the face is ~100 px (HOG's window is
80 px: a 40-px back-row face is upsampled, not missed); the mapped box where HOG finds nothing.
Thresholds: calibrated on lfw-dev by `python -m invigilation.vision calibrate-open-set`
(hall_calibration.py), never on hall-dev.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from invigilation.decisions.assignment import assign

from .detect import (
    BLAZE_TO_HOG,
    BlazeFaceDetector,
    Face,
    _clip,
    _hog_like,
    _iou,
    alignment_detector,
    landmarks_5,
)
from .embed import EMBEDDING_SIZE, face_chip, face_encoder
from .images import ImageInput, load_image
from .model_files import singleton
from .timing import StageTimer

# Open-set thresholds for 1:N against a roster (Euclidean distance between flip-averaged dlib
# embeddings), chosen on lfw-dev by `calibrate-open-set` (HALL-RESULTS.md): the largest at
# which <= 3% of strangers are named and <= 0.5% of roster faces named as someone else. The
# 1:1 threshold 0.5994 named 11.9% of strangers against a 300-student roster there.
KIOSK_MATCH_THRESHOLD = 0.50  # a face close to the kiosk camera against the exam's roster
ROOM_MATCH_THRESHOLD = 0.56  # a hall face (40-120 px) against the room's students
MATCH_MARGIN = 0.05
# Narrower faces are detected and counted but not identified: in the same trials, faces of
# 36-40 px were named right 89% of the time (40-48 px: 96%) and wrongly 0.65% (0.03%).
MIN_IDENTIFY_PX = 40

# Detection (see the module docstring).
DETECT_LONG_SIDE = 1920  # larger frames (4K) are shrunk to this for detection only
TILE_PX = 320
TILE_STRIDE = 240
BLAZE_THRESHOLD = 0.5
MERGE_IOU = 0.3
# Alignment: HOG's window around a face, as a fraction of its width, and the face's width in it.
ALIGN_MARGIN = 0.35
ALIGN_FACE_PX = 100

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Identification:
    """One face against a roster: who (None: nobody or ambiguous), how near, by what margin."""

    student: str | None
    distance: float  # to `student`, else to the nearest (inf: empty roster)
    nearest: str | None  # the nearest roster entry, identified or not
    margin: float | None  # runner-up distance minus nearest (inf: one entry; None: empty roster)
    ambiguous: bool = False


@dataclass(frozen=True)
class RoomFaceReading:
    box: Box  # full-frame pixels
    score: float
    student: str | None  # roster key the frame's assignment gave; None: nobody / not compared
    distance: float | None  # None: too small to identify
    ambiguous: bool = False


@dataclass
class RoomAnalysis:
    width: int
    height: int
    faces: list[RoomFaceReading]
    timings_ms: dict[str, float] = field(default_factory=dict)


def identify(
    embedding: np.ndarray,
    roster: Mapping[str, Sequence[np.ndarray]],
    *,
    threshold: float = KIOSK_MATCH_THRESHOLD,
    margin: float = MATCH_MARGIN,
) -> Identification:
    """The nearest student (nearest of their embeddings) when nearer than `threshold` and than
    the runner-up by `margin` (as `identity.roster_match`); else nobody, or ambiguous."""
    keys, distances = roster_distances(np.asarray(embedding, np.float32)[None], roster)
    if not keys or not np.isfinite(distances).any():
        return Identification(None, float("inf"), None, None)
    order = np.argsort(distances[0])
    nearest = float(distances[0, order[0]])
    runner_up = float(distances[0, order[1]]) if len(order) > 1 else float("inf")
    gap = runner_up - nearest
    name = keys[order[0]]
    if nearest >= threshold:
        return Identification(None, nearest, name, gap)
    if gap < margin - 1e-9:
        return Identification(None, nearest, name, gap, ambiguous=True)
    return Identification(name, nearest, name, gap)


def roster_distances(
    embeddings: np.ndarray, roster: Mapping[str, Sequence[np.ndarray]]
) -> tuple[list[str], np.ndarray]:
    """Roster keys and the (faces, students) distances: each the nearest of the student's
    embeddings (inf for a student without any)."""
    keys = list(roster)
    distances = np.full((len(embeddings), len(keys)), np.inf, np.float32)
    refs = [np.asarray(roster[key], np.float32).reshape(-1, EMBEDDING_SIZE) for key in keys]
    counts = np.array([len(r) for r in refs])
    if not len(embeddings) or not counts.sum():
        return keys, distances
    # One matrix of every reference, then each student's nearest (reduceat over their rows):
    # a 300-student roster in one pass, not a Python loop per student.
    every = np.concatenate(refs)
    squared = (
        (embeddings**2).sum(1)[:, None] + (every**2).sum(1)[None, :] - 2 * embeddings @ every.T
    )
    nearest = np.sqrt(np.maximum(squared, 0))
    has = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[has]
    distances[:, has] = np.minimum.reduceat(nearest, starts, axis=1)
    return keys, distances


def analyse_room_frame(
    frame: ImageInput, roster: Mapping[str, Sequence[np.ndarray]]
) -> RoomAnalysis:
    """Every face in a room frame (JPEG/PNG bytes or BGR array), each identified against the
    room's students (`roster`: student key -> stored 128-d embeddings) jointly with the rest."""
    timer = StageTimer()
    with timer.stage("decode"):
        rgb = load_image(frame, rgb=True)
    with timer.stage("detect"):
        found = detect_room_faces(rgb)
    large = [i for i, (box, _) in enumerate(found) if box[2] - box[0] >= MIN_IDENTIFY_PX]
    with timer.stage("align"):
        faces = [align(rgb, *found[i]) for i in large]
    with timer.stage("embed"):
        embeddings = embed_faces(rgb, faces)
    with timer.stage("assign"):
        keys, distances = roster_distances(embeddings, roster)
        matches = assign(distances.tolist(), ROOM_MATCH_THRESHOLD, MATCH_MARGIN)
    readings = [RoomFaceReading(box, round(score, 3), None, None) for box, score in found]
    for i, face, match in zip(large, faces, matches, strict=True):
        student = None if match.column is None else keys[match.column]
        distance = round(match.distance, 4) if np.isfinite(match.distance) else None
        readings[i] = RoomFaceReading(
            face.box, readings[i].score, student, distance, match.ambiguous
        )
    height, width = rgb.shape[:2]
    return RoomAnalysis(width, height, readings, {k: round(v, 2) for k, v in timer.ms.items()})


@singleton
def room_detector() -> BlazeFaceDetector:
    return BlazeFaceDetector(threshold=BLAZE_THRESHOLD)


def detect_room_faces(rgb: np.ndarray) -> list[tuple[Box, float]]:
    """Every face's box (full-frame pixels, HOG framing) and BlazeFace score, best first."""
    # Each pyramid level is shrunk once so that a TILE_PX tile is the model's 128 px: cutting
    # 128-px tiles then costs no resize per tile (~1 ms each).
    size = BlazeFaceDetector.SIZE
    shrink = min(1.0, DETECT_LONG_SIDE / max(rgb.shape[:2])) * size / TILE_PX
    found: list[tuple[Box, float]] = []
    while True:
        level = _resize(rgb, shrink)
        found += [(_scaled(box, 1 / shrink), s) for box, s in _detect_tiles(level)]
        if max(level.shape[:2]) <= size:
            break
        shrink /= 2
    return [(_clip(box, rgb.shape), s) for box, s in _merge(found)]


def _detect_tiles(image: np.ndarray) -> list[tuple[Box, float]]:
    """BlazeFace on every model-sized tile of `image`, boxes in `image` pixels (HOG framing)."""
    size = BlazeFaceDetector.SIZE
    stride = round(size * TILE_STRIDE / TILE_PX)
    out = []
    for y in _starts(image.shape[0], size, stride):
        for x in _starts(image.shape[1], size, stride):
            for box, score in room_detector()(image[y : y + size, x : x + size]):
                left, top, right, bottom = _hog_like(box, BLAZE_TO_HOG)
                out.append(((left + x, top + y, right + x, bottom + y), score))
    return out


def _starts(length: int, tile: int, stride: int) -> list[int]:
    """Tile origins along one side: every `stride`, the last tile flush with the edge."""
    last = max(length - tile, 0)
    return sorted({*range(0, last, stride), last})


def _merge(found: list[tuple[Box, float]]) -> list[tuple[Box, float]]:
    """One box per face: the best-scored of those overlapping it (tile and level duplicates)."""
    kept: list[tuple[Box, float]] = []
    for box, score in sorted(found, key=lambda f: -f[1]):
        if not any(_iou(box, k) >= MERGE_IOU or _centre_in(box, k) for k, _ in kept):
            kept.append((box, score))
    return kept


def _centre_in(a: Box, b: Box) -> bool:
    """Either box's centre lies inside the other (a partial face at a tile's edge)."""

    def inside(p: Box, q: Box) -> bool:
        cx, cy = (p[0] + p[2]) / 2, (p[1] + p[3]) / 2
        return q[0] <= cx <= q[2] and q[1] <= cy <= q[3]

    return inside(a, b) or inside(b, a)


def align(rgb: np.ndarray, box: Box, score: float) -> Face:
    """The face with dlib's 5 points, fitted on HOG's box for it where HOG finds one."""
    box = _hog_box(rgb, box) or box
    return Face(box, score, landmarks_5(rgb, box), "blazeface")


def _hog_box(rgb: np.ndarray, box: Box) -> Box | None:
    """dlib HOG's box in a window around `box`, rescaled so the face is `ALIGN_FACE_PX` wide."""
    left, top, right, bottom = box
    margin = ALIGN_MARGIN * (right - left)
    x0, y0 = max(0, round(left - margin)), max(0, round(top - margin))
    x1 = min(rgb.shape[1], round(right + margin))
    y1 = min(rgb.shape[0], round(bottom + margin))
    if x1 - x0 < 2 or y1 - y0 < 2:  # a box squeezed against the frame's edge
        return None
    factor = ALIGN_FACE_PX / max(right - left, 1)
    window = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    window = _resize(window, factor)
    found = [
        (round(b[0] / factor) + x0, round(b[1] / factor) + y0,
         round(b[2] / factor) + x0, round(b[3] / factor) + y0)
        for b, _ in alignment_detector()(window)
    ]  # fmt: skip
    best = max(found, key=lambda b: _iou(b, box), default=None)
    return _clip(best, rgb.shape) if best is not None and _iou(best, box) >= 0.3 else None


def embed_faces(rgb: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
    """(n, 128) flip-averaged embeddings (as `embed.embed_rgb`), all faces in one batch."""
    if not faces:
        return np.zeros((0, 128), np.float32)
    chips = [face_chip(rgb, face) for face in faces]
    batch = np.stack([view for chip in chips for view in (chip, chip[:, ::-1])])
    return face_encoder()(batch).reshape(len(faces), 2, -1).mean(axis=1)


def _resize(image: np.ndarray, factor: float) -> np.ndarray:
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=interpolation)


def _scaled(box: Box, scale: float) -> Box:
    return tuple(round(v * scale) for v in box)


def warm_up() -> None:
    """Load every model the room path uses (detector, HOG, 5 points, embedder) and run them
    once on a blank frame, so that the first real frame is not slowed by loading."""
    blank = np.full((TILE_PX, TILE_PX, 3), 128, np.uint8)
    room_detector()(blank)
    alignment_detector()(blank[:, :, 0])
    box = (100, 100, 200, 200)
    embed_faces(blank, [Face(box, 0.0, landmarks_5(blank, box))])
