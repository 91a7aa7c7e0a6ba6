"""Face checks for exam invigilation (no Django): detection, identity, expression, pose, quality.

Models are real, registry-shipped weights (dlib via dlib-bin + face-recognition-models, the
expression model from fer_model), each loaded once per process on first use.
"""

from .analyse import (
    Checks,
    FaceAnalysis,
    FrameAnalysis,
    analyse_frame,
    checks_for_frame,
    warm_up,
)
from .detect import Face, detect_faces
from .embed import embed, embeddings_from_bytes, embeddings_to_bytes
from .expression import Expression
from .images import InvalidImage, load_image
from .pose import HeadPose
from .quality import Quality
from .verify import THRESHOLD, Enrolment, Match, PhotoCheck, check_enrolment_photo, enrol, verify

__all__ = [
    "THRESHOLD",
    "Checks",
    "Enrolment",
    "Expression",
    "Face",
    "FaceAnalysis",
    "FrameAnalysis",
    "HeadPose",
    "InvalidImage",
    "Match",
    "PhotoCheck",
    "Quality",
    "analyse_frame",
    "check_enrolment_photo",
    "checks_for_frame",
    "detect_faces",
    "embed",
    "embeddings_from_bytes",
    "embeddings_to_bytes",
    "enrol",
    "load_image",
    "verify",
    "warm_up",
]
