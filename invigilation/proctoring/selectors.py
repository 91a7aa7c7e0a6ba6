from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import OuterRef, QuerySet, Subquery

from invigilation.exams.models import Exam, ExamSession
from invigilation.exams.selectors import exams_visible_to
from invigilation.proctoring.models import Flag, FrameRecord
from invigilation.students.models import EnrolmentPhoto


def flags_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Flag]:
    return Flag.objects.filter(exam__in=exams_visible_to(user=user)).select_related(
        "exam", "session__student"
    )


def live_grid(*, exam: Exam) -> QuerySet[ExamSession]:
    """The exam's sessions with what the live grid shows of each: last frame, photo."""
    last_frame = FrameRecord.objects.filter(session=OuterRef("pk")).order_by("-captured_at")
    first_photo = EnrolmentPhoto.objects.filter(student=OuterRef("student")).order_by("pk")
    return (
        exam.sessions.select_related("student", "attendance")
        .annotate(
            last_seen=Subquery(last_frame.values("captured_at")[:1]),
            last_faces=Subquery(last_frame.values("face_count")[:1]),
            last_identity=Subquery(last_frame.values("identity_match")[:1]),
            last_expression=Subquery(last_frame.values("expression")[:1]),
            photo_id=Subquery(first_photo.values("pk")[:1]),
        )
        .order_by("student__student_number")
    )


def top_expression(probabilities: Mapping[str, float] | None) -> str | None:
    """The most probable expression class of a frame record, None when none was measured."""
    return max(probabilities, key=probabilities.get) if probabilities else None
