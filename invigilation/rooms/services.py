"""Writes of the room cameras' results that outlive the frame: who was seen, and when."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import F

from invigilation.exams.models import ExamSession
from invigilation.rooms.models import Camera, Sighting


def record_sightings(*, camera: Camera, at: datetime, sessions: Iterable[ExamSession]) -> None:
    """The students identified in one of the camera's frames were in the room at `at`."""
    sessions = list(sessions)
    seen = set(Sighting.objects.filter(session__in=sessions).values_list("session_id", flat=True))
    Sighting.objects.filter(session_id__in=seen).update(
        last_seen_at=at, frames=F("frames") + 1, camera=camera
    )
    Sighting.objects.bulk_create(
        Sighting(session=s, first_seen_at=at, last_seen_at=at, frames=1, camera=camera)
        for s in sessions
        if s.pk not in seen
    )
