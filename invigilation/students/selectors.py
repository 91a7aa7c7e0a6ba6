"""Reads about students' enrolment photos."""

from collections.abc import Iterable

from invigilation.students.models import EnrolmentPhoto


def reference_photo_ids(*, student_ids: Iterable[int]) -> dict[int, int]:
    """Student id -> the id of the photo identity checks compare against (the first
    accepted one, i.e. one that has a face embedding). Students without one are absent."""
    photos = (
        EnrolmentPhoto.objects.filter(student_id__in=list(student_ids), embedding__isnull=False)
        .order_by("student_id", "pk")
        .values_list("student_id", "pk")
    )
    found: dict[int, int] = {}
    for student_id, photo_id in photos:
        found.setdefault(student_id, photo_id)
    return found
