"""Who may run an exam's kiosk: its invigilators (and exam admins, who see every exam).
Anyone else gets 403; an unknown exam or attempt 404."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from invigilation.exams.models import Exam
from invigilation.exams.selectors import can_watch_exam
from invigilation.kiosk.models import KioskAttempt


def kiosk_exam(*, user: AbstractBaseUser | AnonymousUser, exam_id: int) -> Exam:
    exam = Exam.objects.filter(pk=exam_id).first()
    if exam is None:
        raise Http404("No such exam.")
    if not can_watch_exam(user=user, exam_id=exam.pk):
        raise PermissionDenied("Only this exam's invigilators may use its kiosk.")
    return exam


def kiosk_attempt(*, user: AbstractBaseUser | AnonymousUser, attempt_id: int) -> KioskAttempt:
    attempt = (
        KioskAttempt.objects.select_related("exam", "session__student")
        .filter(pk=attempt_id)
        .first()
    )
    if attempt is None:
        raise Http404("No such kiosk attempt.")
    kiosk_exam(user=user, exam_id=attempt.exam_id)
    return attempt
