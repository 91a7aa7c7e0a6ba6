"""Celery tasks of the room cameras. The web process imports this module to queue them: the
face models and OpenCV are imported only inside the tasks and the worker's start-up."""

import logging

from celery import shared_task
from celery.signals import worker_process_init

log = logging.getLogger(__name__)


@worker_process_init.connect
def _prepare_worker(**kwargs) -> None:
    from invigilation.vision import hall  # noqa: PLC0415 - worker side only

    try:
        hall.warm_up()  # the hall detector now, not on a room's first frame
    except Exception:
        # A worker that cannot load the hall models still serves the students' frames; the
        # room task then fails on its own frames, with the reason in the log.
        log.exception("room camera models not loaded at worker start")


# As the students' frames: acknowledged late, so a worker dying mid-frame hands the task back
# and it runs again under the same id, finding the same frame.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def analyse_room_frame(self, camera_id: int) -> None:
    """Analyse the camera's latest waiting frame (by reference: the broker holds no image)."""
    from invigilation.rooms import room_processing  # noqa: PLC0415 - worker side only

    room_processing.process_latest_room_frame(camera_id=camera_id, claim=self.request.id)
