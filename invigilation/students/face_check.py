"""The hook through which enrolment photos are checked for exactly one face.

The vision package provides the checker; settings.PHOTO_FACE_CHECKER names it by dotted
path so the student app does not import image models itself.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class FaceCheckResult:
    accepted: bool | None  # None: no checker is configured, the photo is kept unchecked
    message: str = ""
    embedding: bytes | None = None


FaceChecker = Callable[[bytes], FaceCheckResult]


def _not_checked(image_bytes: bytes) -> FaceCheckResult:
    return FaceCheckResult(accepted=None, message="No face checker is configured.")


@cache
def _load_checker(dotted_path: str) -> FaceChecker:
    return _not_checked if dotted_path in ("", "none") else import_string(dotted_path)


def check_face(image_bytes: bytes) -> FaceCheckResult:
    return _load_checker(settings.PHOTO_FACE_CHECKER)(image_bytes)
