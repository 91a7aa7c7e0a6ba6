"""The capture links of an exam as a CSV file, for mail merges and learning platforms."""

import io
import re
from collections.abc import Iterable

from django.utils import timezone

from invigilation.core.downloads import write_csv
from invigilation.exams.models import Exam
from invigilation.invitations.selectors import capture_url, exam_sessions_with_students

CAPTURE_LINK_COLUMNS = ["student_number", "full_name", "email", "exam", "starts_at", "capture_url"]


def capture_links_csv(*, exams: Iterable[Exam]) -> str:
    """One row per student per exam, with the link that opens the exam for them."""
    buffer = io.StringIO()
    write_csv(buffer, CAPTURE_LINK_COLUMNS, _capture_link_rows(exams))
    return buffer.getvalue()


def _capture_link_rows(exams: Iterable[Exam]) -> Iterable[list[str]]:
    for exam in exams:
        starts_at = timezone.localtime(exam.starts_at).isoformat(timespec="minutes")
        for session in exam_sessions_with_students(exam=exam):
            student = session.student
            yield [student.student_number, student.full_name, student.email, str(exam),
                   starts_at, capture_url(session=session)]  # fmt: skip


def capture_links_filename(*, exam: Exam) -> str:
    course = re.sub(r"[^A-Za-z0-9_.-]", "_", exam.course)  # safe in a header
    return f"{course}-{exam.pk}-capture-links.csv"
