from django.db.models.signals import post_delete
from django.dispatch import receiver

from invigilation.students.models import EnrolmentPhoto
from invigilation.students.services import delete_photo_files


@receiver(post_delete, sender=EnrolmentPhoto)
def remove_photo_file(sender, instance: EnrolmentPhoto, **kwargs) -> None:
    # Biometric data: a deleted photo (or student) must not linger on disk.
    delete_photo_files(photo=instance)
