from django.db.models.signals import post_delete
from django.dispatch import receiver

from invigilation.core.files import delete_file_on_commit
from invigilation.students.models import EnrolmentPhoto


@receiver(post_delete, sender=EnrolmentPhoto)
def remove_photo_file(sender, instance: EnrolmentPhoto, **kwargs) -> None:
    # Biometric data: a deleted photo (or student) must not linger on disk.
    delete_file_on_commit(instance.image)
