"""One call per webcam frame: faces, identity, expression, head pose and image quality."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .detect import (
    Box,
    aligned_face,
    alignment_detector,
    detect_boxes_rgb,
    fallback_detector,
    frame_detector,
    landmark_box,
    shape_predictor_5,
)
from .embed import embed_rgb, face_encoder
from .expression import Expression, expression_model, expressions
from .images import ImageInput, load_image
from .pose import HeadPose, head_pose_from_landmarks, landmarks_68, shape_predictor_68
from .quality import Quality, assess_quality
from .timing import StageTimer
from .verify import Enrolment, Match, verify


@dataclass(frozen=True)
class Checks:
    """Which checks to run; a disabled check costs nothing. Detection always runs."""

    identity: bool = True
    expression: bool = True
    gaze: bool = True
    quality: bool = True
    embed: bool = False  # embed every face even with no enrolment (check-in, session anchor)

    def with_identity(self, due: bool) -> Checks:
        """These checks, with identity only if the schedule says it is due on this frame."""
        return replace(self, identity=self.identity and due)


@dataclass
class FaceAnalysis:
    box: Box
    score: float
    identity: Match | None = None  # None when identity is off or no enrolment was given
    embedding: np.ndarray | None = None  # set whenever identity ran (or `Checks.embed`)
    expression: Expression | None = None
    head_pose: HeadPose | None = None
    # dlib's 68 (x, y) image points, 0.1 px; filled whenever the pose stage (checks.gaze) runs.
    landmarks: tuple[tuple[float, float], ...] | None = None


@dataclass
class FrameAnalysis:
    width: int
    height: int
    faces: list[FaceAnalysis]
    quality: Quality | None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def face_count(self) -> int:
        return len(self.faces)


def analyse_frame(
    frame: ImageInput, enrolment: Enrolment | None = None, checks: Checks | None = None
) -> FrameAnalysis:
    """Analyse one frame (JPEG/PNG bytes or BGR array); raises `InvalidImage` on bad input."""
    checks = checks or Checks()
    timer, start = StageTimer(), time.perf_counter()
    with timer.stage("decode"):
        rgb = load_image(frame, rgb=True)
    with timer.stage("detect"):
        found = detect_boxes_rgb(rgb)
    faces = [FaceAnalysis(box, score) for box, score, _ in found]
    enrolled = enrolment is not None and enrolment.ok
    if checks.identity and (enrolled or checks.embed):
        for (box, score, detector), result in zip(found, faces, strict=True):
            with timer.stage("embed"):  # the 5 alignment landmarks, the chip, the network
                face = aligned_face(rgb, box, score, detector)
                result.embedding = embedding = embed_rgb(rgb, face)
            if enrolled:
                with timer.stage("verify"):
                    result.identity = verify(embedding, enrolment)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if checks.expression or checks.quality else None
    if checks.expression and faces:
        with timer.stage("expression"):
            for result, expr in zip(faces, expressions(grey, [f.box for f in faces]), strict=True):
                result.expression = expr
    if checks.gaze:
        with timer.stage("pose"):
            for (box, _, detector), result in zip(found, faces, strict=True):
                points = landmarks_68(rgb, landmark_box(rgb, box, detector))
                result.landmarks = tuple((round(x, 1), round(y, 1)) for x, y in points.tolist())
                result.head_pose = head_pose_from_landmarks(points, rgb.shape[1], rgb.shape[0])
    quality = None
    if checks.quality:
        with timer.stage("quality"):
            quality = assess_quality(grey)
    timings = {name: round(ms, 3) for name, ms in timer.ms.items()}
    timings["total"] = round(1000 * (time.perf_counter() - start), 3)
    return FrameAnalysis(rgb.shape[1], rgb.shape[0], faces, quality, timings)


def checks_for_frame(index: int, identity_every: int = 1, base: Checks | None = None) -> Checks:
    """`base` with identity on only every `identity_every`-th frame (index 0 included): a fixed
    schedule. The worker's is the rules' (`SessionRules.identity_due`)."""
    return (base or Checks()).with_identity(index % identity_every == 0)


def warm_up(checks: Checks | None = None) -> None:
    """Load the models `checks` need now (e.g. at worker start), not on the first frame."""
    checks = checks or Checks()
    for load in (frame_detector, alignment_detector, fallback_detector, shape_predictor_5):
        load()
    if checks.identity:
        face_encoder()
    if checks.expression:
        expression_model()
    if checks.gaze:
        shape_predictor_68()
