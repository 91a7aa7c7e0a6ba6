import time

import cv2
import torch
from celery import shared_task
from celery.signals import worker_process_init

from invigilation import vision
from invigilation.proctoring import analysis


@worker_process_init.connect
def _prepare_worker(**kwargs) -> None:
    # One thread per worker process: scale with --concurrency, not with thread pools that
    # fight each other (torch's default pool made one embedding 30x slower on 2 busy cores).
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    vision.warm_up()  # load the models now, not on a student's first frame


@shared_task(acks_late=True, ignore_result=True)
def analyse_latest_frame(session_id: int) -> None:
    """Analyse the session's latest waiting frame (by reference: the broker holds no image)."""
    analysis.process_latest_frame(session_id=session_id)


@shared_task(ignore_result=True)
def check_stopped_streams() -> None:
    """Run by Celery beat every few seconds."""
    analysis.flag_stopped_streams(now=time.time())
