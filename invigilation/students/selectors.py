"""Reads about students and their enrolment photos, scoped to what a staff user may see."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from invigilation.accounts.roles import is_exam_admin, is_invigilator
from invigilation.students.models import EnrolmentPhoto, Student


def students_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Student]:
    """Exam admins: every student; invigilators: the students of the exams assigned to them."""
    if is_exam_admin(user):
        return Student.objects.all()
    if is_invigilator(user):
        return Student.objects.filter(sessions__exam__assignments__user=user).distinct()
    return Student.objects.none()


@dataclass(frozen=True)
class Reference:
    """The photo identity checks compare a student against."""

    photo_id: int
    confirmed: bool  # False: taken at check-in (self-enrolment), awaiting an invigilator
    source: str


def reference_photos(*, student_ids: Iterable[int]) -> dict[int, Reference]:
    """Student id -> their reference photo: an accepted one (with a face embedding),
    confirmed ones before unconfirmed, then the oldest. Students without one are absent;
    pending and rejected photos never count."""
    photos = (
        EnrolmentPhoto.objects.usable()
        .filter(student_id__in=list(student_ids))
        .annotate(unconfirmed=ExpressionWrapper(Q(confirmed_at__isnull=True), BooleanField()))
        .order_by("student_id", "unconfirmed", "pk")
        .values_list("student_id", "pk", "confirmed_at", "source")
    )
    found: dict[int, Reference] = {}
    for student_id, photo_id, confirmed_at, source in photos:
        found.setdefault(student_id, Reference(photo_id, confirmed_at is not None, source))
    return found


def reference_photo_ids(*, student_ids: Iterable[int]) -> dict[int, int]:
    """Student id -> the id of their reference photo (see `reference_photos`)."""
    return {k: ref.photo_id for k, ref in reference_photos(student_ids=student_ids).items()}


def unconfirmed_reference(*, student_id: int) -> EnrolmentPhoto | None:
    """The student's check-in photo awaiting an invigilator's approval, if any."""
    return (
        EnrolmentPhoto.objects.usable()
        .filter(
            student_id=student_id, source=EnrolmentPhoto.Source.CHECK_IN, confirmed_at__isnull=True
        )  # fmt: skip
        .order_by("pk")
        .first()
    )


def photo_statuses(*, photo_ids: Iterable[int]) -> dict[int, dict]:
    """Photo id -> its face check, for pages that wait for the worker's verdict."""
    photos = EnrolmentPhoto.objects.filter(pk__in=list(photo_ids))
    return {
        p.pk: {"status": p.face_check, "label": p.get_face_check_display(), "text": p.status_text}
        for p in photos.only("pk", "face_check", "face_check_message", "confirmed_at", "source")
    }
