"""Head pose (yaw/pitch/roll) from dlib's 68 landmarks with cv2.solvePnP on a generic 3D face."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import dlib
import numpy as np

from .detect import Box
from .model_files import dlib_model, singleton

# Beyond these the student is reported as looking away (a generous cone: reading the exam on
# screen moves the head a little; turning to a neighbour or a phone moves it a lot).
MAX_YAW_DEG = 30.0
MAX_PITCH_DEG = 25.0

# Generic face in mm, camera axes (x right, y down, z away from the camera), nose tip at the
# origin; a frontal face then has an identity rotation. Points: nose tip, chin, outer eye
# corners (image left, image right), mouth corners (image left, image right).
MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ],
    np.float64,
)
LANDMARK_INDICES = [30, 8, 36, 45, 48, 54]  # the same points in dlib's 68-point scheme
_lock = threading.Lock()


@dataclass(frozen=True)
class HeadPose:
    yaw: float  # degrees, + = turned towards image right
    pitch: float  # degrees, + = looking down
    roll: float
    looking_away: bool


@singleton
def shape_predictor_68() -> dlib.shape_predictor:
    return dlib.shape_predictor(str(dlib_model("shape_predictor_68_face_landmarks.dat")))


def landmarks_68(rgb: np.ndarray, box: Box) -> np.ndarray:
    with _lock:
        shape = shape_predictor_68()(rgb, dlib.rectangle(*box))
    return np.array([(p.x, p.y) for p in shape.parts()], np.float64)


def head_pose(rgb: np.ndarray, box: Box) -> HeadPose | None:
    """Pose of the face in `box`; None when solvePnP fails."""
    height, width = rgb.shape[:2]
    return head_pose_from_landmarks(landmarks_68(rgb, box), width, height)


def head_pose_from_landmarks(landmarks: np.ndarray, width: int, height: int) -> HeadPose | None:
    """Pose from dlib's 68 landmarks (image points) of a `width` x `height` frame."""
    points = np.asarray(landmarks, np.float64)[LANDMARK_INDICES]
    # Pinhole guess: focal length ~ image width (a ~60 degree webcam), centred principal point.
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
    # SQPNP: the global least-squares optimum (stable, unlike EPnP on 6 points) in ~0.2 ms.
    ok, rvec, _ = cv2.solvePnP(MODEL_POINTS, points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return None
    angles = cv2.RQDecomp3x3(cv2.Rodrigues(rvec)[0])[0]
    pitch, yaw, roll = (float(round(a, 1)) for a in angles)
    away = abs(yaw) > MAX_YAW_DEG or abs(pitch) > MAX_PITCH_DEG
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll, looking_away=away)
