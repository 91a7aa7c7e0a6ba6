"""Celery tasks. The web process imports this module to queue them: the face models, torch,
dlib and OpenCV are imported only inside the tasks and the worker's start-up, never here."""

import logging
import time

from celery import shared_task
from celery.signals import task_postrun, task_prerun, task_revoked, worker_process_init
from django.conf import settings
from django.db import close_old_connections

from invigilation.proctoring import bursts, frames

log = logging.getLogger(__name__)


@worker_process_init.connect
def _prepare_worker(**kwargs) -> None:
    import cv2  # noqa: PLC0415 - worker side only
    import torch  # noqa: PLC0415

    from invigilation import vision  # noqa: PLC0415

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
    name = getattr(sender, "name", None)
    if expired and name == analyse_latest_frame.name:
        frames.give_up_claim(request.id)
    # A check that expired before a worker ran it: the page is told, not left waiting.
    if expired and name in (check_in_burst.name, system_check_frame.name):
        kind = bursts.CHECK_IN if name == check_in_burst.name else bursts.SYSTEM_CHECK
        args = getattr(request, "args", None) or ()
        if len(args) == 2:  # (session id, job id)
            bursts.fail(kind, str(args[1]))
            bursts.discard(kind, str(args[1]))


# acks_late with reject_on_worker_lost: when the worker process dies mid-frame (out of memory,
# a crash in native code), the message goes back to the queue and the task runs again under
# the same id, finding the same frame. A frame that kills workers every time stops coming back
# once the task's expiry (the frame's TTL) has passed.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def analyse_latest_frame(self, session_id: int) -> None:
    """Analyse the session's latest waiting frame (by reference: the broker holds no image)."""
    from invigilation.proctoring import frame_processing  # noqa: PLC0415 - worker side only

    frame_processing.process_latest_frame(session_id=session_id, claim=self.request.id)


@shared_task(ignore_result=True)
def check_stopped_streams() -> None:
    """Run by Celery beat every few seconds: sessions past their exam's end are finished
    first, then running sessions whose frames stopped are flagged."""
    from invigilation.proctoring import frame_processing  # noqa: PLC0415 - worker side only

    now = time.time()
    frame_processing.finish_ended_sessions(now=now)
    frame_processing.flag_stopped_streams(now=now)


def queue_check(task, session_id: int, job_id: str) -> None:
    """Queue a check by reference (the broker carries ids): it expires with its pictures."""
    task.apply_async(args=[session_id, job_id], expires=settings.CHECK_IN_BURST_TTL_SECONDS)


# Late acknowledgement: a worker that dies mid-check hands the job to another (the pictures
# stay in Redis until judged). Any error is the student's to retry, never a wait forever.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def check_in_burst(self, session_id: int, burst_id: str) -> None:
    """Judge a check-in burst (liveness, identity) and keep the verdict for the page."""
    from invigilation.proctoring import check_ins  # noqa: PLC0415 - worker side only

    stored = bursts.load(bursts.CHECK_IN, burst_id)
    if stored is None:
        bursts.fail(bursts.CHECK_IN, burst_id)  # expired before a worker got to it
        return
    jpegs, captured_at = stored
    if captured_at is None:
        captured_at = [1000 * i / settings.CHECK_IN_BURST_FPS for i in range(len(jpegs))]
    try:
        verdict = check_ins.check_in_from_burst(
            session_id=session_id, jpegs=jpegs, captured_at=captured_at
        )
    except Exception:
        log.exception("check-in burst %s of session %s failed", burst_id, session_id)
        bursts.fail(bursts.CHECK_IN, burst_id)
    else:
        bursts.finish(bursts.CHECK_IN, burst_id, verdict.as_json())
    finally:
        bursts.discard(bursts.CHECK_IN, burst_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def system_check_frame(self, session_id: int, check_id: str) -> None:
    """A system check's frame: one face, lit, sharp? Nothing is stored but the result."""
    from invigilation.vision import check_in_assessment  # noqa: PLC0415 - worker side only

    stored = bursts.load(bursts.SYSTEM_CHECK, check_id)
    if stored is None:
        bursts.fail(bursts.SYSTEM_CHECK, check_id)
        return
    try:
        checked = check_in_assessment.assess_system_check(stored[0][0])
    except Exception:
        log.exception("system check %s of session %s failed", check_id, session_id)
        bursts.fail(bursts.SYSTEM_CHECK, check_id)
    else:
        bursts.finish(bursts.SYSTEM_CHECK, check_id, checked)
    finally:
        bursts.discard(bursts.SYSTEM_CHECK, check_id)
