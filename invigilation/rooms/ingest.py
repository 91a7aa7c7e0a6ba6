"""Checks on what a room camera sends: one JPEG of the whole room, up to 4K, at 0.2 to 1
frames per second. Only the latest frame waits, in Redis; the worker gets the camera's id."""

import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from invigilation.proctoring import ingest
from invigilation.proctoring.frames import PendingFrame
from invigilation.proctoring.ingest import FrameRefused
from invigilation.rooms import frames
from invigilation.rooms.models import Camera
from invigilation.rooms.tasks import analyse_room_frame


def max_bytes() -> int:
    """The largest room frame accepted: a 4K JPEG at the page's quality fits."""
    return settings.ROOM_FRAME_MAX_BYTES


def max_side() -> int:
    return settings.ROOM_FRAME_MAX_SIDE


def accept_camera_frame(*, camera: Camera, jpeg: bytes) -> bool:
    """Validate and keep the room frame; True when a new analysis task was queued for it (on
    commit: the task never runs before what the request wrote is visible)."""
    check_camera_open(camera)
    ingest.check_jpeg(jpeg, max_bytes=max_bytes(), max_side=max_side(), name="room frame")
    interval = 0.5 / camera.frames_per_second  # twice the camera's rate, for jittery clients
    if not frames.admit(camera, interval):
        raise FrameRefused(429, "Frames are arriving faster than this camera's rate.", interval)
    queued = frames.put_latest(camera, PendingFrame(jpeg, time.time()))
    if queued:
        transaction.on_commit(lambda: queue_analysis(camera.pk))
    return queued


def queue_analysis(camera_id: int) -> None:
    # It expires with its frame: a worker far behind analyses what the room shows now.
    analyse_room_frame.apply_async(args=[camera_id], expires=settings.FRAME_TTL_SECONDS)


def check_camera_open(camera: Camera) -> None:
    """409 (FrameRefused) for an inactive camera or an exam that has not opened yet (the
    token stops opening anything once the exam has ended)."""
    if not camera.active:
        raise FrameRefused(409, "This camera is switched off in the exam's settings.")
    if timezone.now() < camera.exam.starts_at - settings.CHECK_IN_OPENS_BEFORE:
        raise FrameRefused(409, "The exam has not started yet.")
