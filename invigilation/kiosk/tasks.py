"""Celery tasks of the kiosk. The web process imports this module to queue them: the face
models are imported only inside the tasks (judging.py)."""

import logging

from celery import shared_task

from invigilation.kiosk import bursts, services

log = logging.getLogger(__name__)

FAILED = "The burst could not be checked: capture again."


# Late acknowledgement: a worker that dies mid-burst hands it to another (the pictures stay
# in Redis until judged); any error reaches the page as an error, never a wait forever.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def judge_kiosk_burst(self, attempt_id: int) -> None:
    """Judge a kiosk burst by reference: liveness, then who it is among the enrolled."""
    from invigilation.kiosk import judging  # noqa: PLC0415 - worker side only

    jpegs = bursts.load(attempt_id)
    if jpegs is None:
        services.mark_error(attempt_id, "The burst expired before it was checked: capture again.")
        return
    try:
        judging.judge_burst(attempt_id, jpegs)
    except Exception:
        log.exception("kiosk burst of attempt %s failed", attempt_id)
        services.mark_error(attempt_id, FAILED)
    finally:
        bursts.discard(attempt_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def verify_kiosk_override(self, attempt_id: int) -> None:
    """An override: the burst's stored faces against the typed student's references."""
    from invigilation.kiosk import judging  # noqa: PLC0415 - worker side only

    try:
        judging.verify_override(attempt_id)
    except Exception:
        log.exception("kiosk override of attempt %s failed", attempt_id)
        services.mark_error(attempt_id, FAILED)
