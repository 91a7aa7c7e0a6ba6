"""Reads behind the post-exam report: summary, attendance, per-student timelines."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from invigilation.exams.models import Exam, ExamSession
from invigilation.proctoring.models import Flag, FrameRecord

LATE_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class AttendanceRow:
    session: ExamSession
    checked_in_at: datetime | None
    verified: bool | None
    distance: float | None
    late: bool
    flags: int
    open_flags: int
    confirmed: int  # confirmed or escalated

    @property
    def absent(self) -> bool:
        return self.checked_in_at is None

    @property
    def clean(self) -> bool:
        """Present, and no flag is waiting for review or was confirmed."""
        return not self.absent and self.open_flags == 0 and not self.confirmed


def attendance_rows(*, exam: Exam) -> list[AttendanceRow]:
    sessions = (
        exam.sessions.select_related("student", "attendance")
        .annotate(
            flag_count=Count("flags"),
            open_count=Count("flags", filter=Q(flags__review_state=Flag.Review.OPEN)),
            confirmed_count=Count(
                "flags",
                filter=Q(flags__review_state__in=[Flag.Review.CONFIRMED, Flag.Review.ESCALATED]),
            ),
        )
        .order_by("student__student_number")
    )
    return [_row(exam, session) for session in sessions]


def _row(exam: Exam, session: ExamSession) -> AttendanceRow:
    attendance = getattr(session, "attendance", None)
    checked_in = attendance.checked_in_at if attendance else None
    return AttendanceRow(
        session=session,
        checked_in_at=checked_in,
        verified=attendance.verified if attendance else None,
        distance=attendance.verification_distance if attendance else None,
        late=bool(checked_in and checked_in > exam.starts_at + LATE_AFTER),
        flags=session.flag_count,
        open_flags=session.open_count,
        confirmed=session.confirmed_count,
    )


@dataclass(frozen=True)
class Summary:
    expected: int
    checked_in: int
    verified: int
    flagged: int
    clean: int
    by_kind: dict[str, int]
    by_severity: dict[str, int]


def exam_summary(*, exam: Exam, rows: list[AttendanceRow]) -> Summary:
    flags = Flag.objects.filter(session__exam=exam)
    kinds = dict(Flag.Kind.choices)
    severities = dict(Flag.Severity.choices)
    return Summary(
        expected=len(rows),
        checked_in=sum(not r.absent for r in rows),
        verified=sum(r.verified is True for r in rows),
        flagged=sum(r.flags > 0 for r in rows),
        clean=sum(r.clean for r in rows),
        by_kind={kinds[k]: n for k, n in Counter(flags.values_list("kind", flat=True)).items()},
        by_severity={
            severities[s]: n
            for s, n in sorted(Counter(flags.values_list("severity", flat=True)).items())
        },
    )


def timeline(*, session: ExamSession) -> tuple[list[FrameRecord], list[Flag]]:
    frames = list(session.frames.order_by("captured_at"))
    flags = list(session.flags.order_by("raised_at"))
    return frames, flags
