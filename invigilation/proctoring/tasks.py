import time

from celery import shared_task

from invigilation.proctoring import analysis


@shared_task(acks_late=True, ignore_result=True)
def analyse_latest_frame(session_id: int) -> None:
    """Analyse the session's latest waiting frame (by reference: the broker holds no image)."""
    analysis.process_latest_frame(session_id=session_id)


@shared_task(ignore_result=True)
def check_stopped_streams() -> None:
    """Run by Celery beat every few seconds."""
    analysis.flag_stopped_streams(now=time.time())
