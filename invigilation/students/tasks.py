"""Worker-side jobs for enrolment photos. Imported by the web process too (to queue them):
the vision models are loaded only when a task runs, through settings.PHOTO_FACE_CHECKER."""

from celery import shared_task


# By photo id: the image stays in storage, never in the broker. acks_late with
# reject_on_worker_lost: a worker lost mid-check leaves the photo pending and the check runs
# again; a photo already decided is left as it is.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def check_enrolment_photo(photo_id: int) -> None:
    """Check that the photo shows exactly one face and store its embedding."""
    from invigilation.students.services import check_photo_face  # noqa: PLC0415

    check_photo_face(photo_id=photo_id)
