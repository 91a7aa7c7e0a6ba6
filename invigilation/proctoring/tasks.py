import time

import cv2
import torch
from celery import shared_task
from celery.signals import task_postrun, task_prerun, task_revoked, worker_process_init
from django.db import close_old_connections

from invigilation import vision
from invigilation.proctoring import analysis, frames


@worker_process_init.connect
def _prepare_worker(**kwargs) -> None:
    # One thread per worker process: scale with --concurrency, not with thread pools that
    # fight each other (torch's default pool made one embedding 30x slower on 2 busy cores).
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    vision.warm_up()  # load the models now, not on a student's first frame


@task_prerun.connect
@task_postrun.connect
def _tidy_connections(task, **kwargs) -> None:
    # What Django does around each request: a connection goes back to its pool (or, with
    # CONN_MAX_AGE, stays open) unless broken or too old. Celery's fixup would otherwise keep
    # a broken one until it recycles (settings.CELERY_DB_REUSE_MAX). A task run in the
    # caller's process (eagerly) uses the caller's connection, left alone.
    if not task.request.is_eager:
        close_old_connections()


@task_revoked.connect
def _count_frame_given_up(sender, request, expired: bool = False, **kwargs) -> None:
    # A frame task delivered again after its worker died, and expired before one ran it: the
    # frame it had taken is lost, and counted as failed (run in the worker's main process).
    if expired and getattr(sender, "name", None) == analyse_latest_frame.name:
        frames.give_up_claim(request.id)


# acks_late with reject_on_worker_lost: when the worker process dies mid-frame (out of memory,
# a crash in native code), the message goes back to the queue and the task runs again under
# the same id, finding the same frame. A frame that kills workers every time stops coming back
# once the task's expiry (the frame's TTL) has passed.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def analyse_latest_frame(self, session_id: int) -> None:
    """Analyse the session's latest waiting frame (by reference: the broker holds no image)."""
    analysis.process_latest_frame(session_id=session_id, claim=self.request.id)


@shared_task(ignore_result=True)
def check_stopped_streams() -> None:
    """Run by Celery beat every few seconds: sessions past their exam's end are finished
    first, then running sessions whose frames stopped are flagged."""
    now = time.time()
    analysis.finish_ended_sessions(now=now)
    analysis.flag_stopped_streams(now=now)
