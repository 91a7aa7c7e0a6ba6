from django.db.models.signals import post_delete
from django.dispatch import receiver

from invigilation.core.files import delete_file_on_commit
from invigilation.proctoring.models import CheckInAttempt, Flag


@receiver(post_delete, sender=Flag)
def remove_snapshot_file(sender, instance: Flag, **kwargs) -> None:
    # A snapshot is a picture of a student: it goes with its flag (student deleted, purge).
    delete_file_on_commit(instance.snapshot)
    delete_file_on_commit(instance.thumbnail)


@receiver(post_delete, sender=CheckInAttempt)
def remove_check_in_picture(sender, instance: CheckInAttempt, **kwargs) -> None:
    delete_file_on_commit(instance.snapshot)
