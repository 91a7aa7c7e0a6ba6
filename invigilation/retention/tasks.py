from celery import shared_task
from django.utils import timezone

from invigilation.retention.services import purge_expired_data


@shared_task(ignore_result=True)
def purge_expired() -> None:
    """Run by Celery beat every few hours."""
    purge_expired_data(now=timezone.now())
