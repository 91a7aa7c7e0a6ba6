"""Reads of the room cameras."""

from django.db.models import QuerySet
from django.utils import timezone

from invigilation.exams.models import Exam
from invigilation.rooms.models import Camera


def camera_for_token(token: str) -> Camera | None:
    """The camera a token opens, while its exam has not ended (active or not: the caller says
    why an inactive one is refused)."""
    if not token:
        return None
    camera = Camera.objects.select_related("exam").filter(token=token).first()
    if camera is None or camera.exam.ends_at <= timezone.now():
        return None
    return camera


def cameras_of(*, exam: Exam) -> QuerySet[Camera]:
    return Camera.objects.filter(exam=exam)
