"""The enrolment-photo face check, backed by the vision package (the default checker)."""

from invigilation import vision
from invigilation.students import embeddings
from invigilation.students.face_check import FaceCheckResult


def check_photo(image_bytes: bytes) -> FaceCheckResult:
    """Accept a photo with exactly one usable face, keeping its embedding (float32 bytes)."""
    result = vision.check_enrolment_photo(image_bytes)
    if not result.ok:
        return FaceCheckResult(accepted=False, message=result.reason)
    stored = embeddings.to_bytes(result.embedding)
    return FaceCheckResult(accepted=True, message="one face", embedding=stored)
