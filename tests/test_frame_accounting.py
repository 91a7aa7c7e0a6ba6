"""Every frame a worker takes is analysed, dropped or counted as failed: a task that dies on
its frame (the analysis crashing, the database failing) or is given up after its workers died
no longer loses the frame silently."""

import io
import time

import pytest
from celery.app.task import Context
from celery.signals import task_revoked
from django.db import OperationalError
from PIL import Image

from invigilation import vision
from invigilation.proctoring import frame_processing, frames
from invigilation.proctoring.frame_processing import process_latest_frame
from invigilation.proctoring.models import FrameRecord
from invigilation.proctoring.tasks import analyse_latest_frame

pytestmark = pytest.mark.django_db


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def session(sessions):
    session = sessions["S001"]
    frames.put_latest(session, frames.PendingFrame(jpeg(), time.time()))
    return session


def counts(session) -> tuple[int, int, int]:
    analysed = FrameRecord.objects.filter(session=session).count()
    return analysed, frames.dropped_frames(session), frames.failed_frames(session)


def taken(session, claim: str) -> bool:
    return bool(frames.client().exists(frames._key(session, f"taken:{claim}")))


def test_a_crash_in_the_analysis_counts_the_frame_as_failed(session, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("segfault-free crash in the vision step")

    monkeypatch.setattr(vision, "analyse_frame", crash)
    with pytest.raises(RuntimeError):
        process_latest_frame(session_id=session.pk, claim="task-1")
    assert counts(session) == (0, 0, 1)
    assert not taken(session, "task-1")  # nothing left waiting for a redelivery


def test_a_database_error_while_persisting_counts_the_frame_as_failed(session, monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(frame_processing, "_record", database_down)
    with pytest.raises(OperationalError):
        process_latest_frame(session_id=session.pk, claim="task-2")
    assert counts(session) == (0, 0, 1)


def test_an_unreadable_frame_is_counted_as_failed(session, monkeypatch):
    def unreadable(*args, **kwargs):
        raise vision.InvalidImage("corrupt JPEG data")

    monkeypatch.setattr(vision, "analyse_frame", unreadable)
    assert process_latest_frame(session_id=session.pk, claim="task-3") is None
    assert counts(session) == (0, 0, 1)


def test_a_frame_analysed_or_dropped_is_not_counted_as_failed(session):
    frames.put_latest(session, frames.PendingFrame(jpeg(), time.time()))  # replaces the first
    assert process_latest_frame(session_id=session.pk, claim="task-4") is not None
    assert counts(session) == (1, 1, 0)


def revoke(claim: str, *, expired: bool) -> None:
    """What the worker sends when a task's expiry has passed before a worker ran it."""
    request = Context(id=claim, task=analyse_latest_frame.name)
    task_revoked.send(
        sender=analyse_latest_frame, request=request, terminated=False, signum=None,
        expired=expired,
    )  # fmt: skip


def test_a_frame_given_up_after_its_workers_died_is_counted_as_failed(session):
    # A worker took the frame and died; the task came back after its expiry: not run again.
    assert frames.take_latest(session, "task-5") is not None
    revoke("task-5", expired=True)
    assert counts(session) == (0, 0, 1)
    assert not taken(session, "task-5")
    revoke("task-5", expired=True)  # counted once, however often it is announced
    assert counts(session) == (0, 0, 1)


def test_a_task_expired_before_any_worker_took_its_frame_counts_nothing(session):
    revoke("task-6", expired=True)  # the frame still waits: the next frame replaces it
    assert counts(session) == (0, 0, 0)


def test_a_frame_of_a_task_revoked_by_hand_is_not_counted(session):
    assert frames.take_latest(session, "task-7") is not None
    revoke("task-7", expired=False)
    assert counts(session) == (0, 0, 0)
