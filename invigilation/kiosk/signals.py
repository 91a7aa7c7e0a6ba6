from django.db.models.signals import post_delete
from django.dispatch import receiver

from invigilation.core.files import delete_file_on_commit
from invigilation.kiosk.models import KioskAttempt


@receiver(post_delete, sender=KioskAttempt)
def remove_kiosk_picture(sender, instance: KioskAttempt, **kwargs) -> None:
    # A candidate's face at the door: it goes with its attempt (purge, student erased).
    delete_file_on_commit(instance.snapshot)
