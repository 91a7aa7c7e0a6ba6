from celery import shared_task


@shared_task
def ping() -> str:
    """Round trip through the broker and a worker: proves the worker is consuming."""
    return "pong"
