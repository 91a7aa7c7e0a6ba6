"""The capture links of an exam as a CSV file, for mail merges and learning platforms."""

import csv
import io
import re
from collections.abc import Iterable

from django.utils import timezone

from invigilation.exams.models import Exam
from invigilation.invitations.selectors import capture_url, exam_sessions_with_students

CAPTURE_LINK_COLUMNS = ["student_number", "full_name", "email", "exam", "starts_at", "capture_url"]
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """The value as text a spreadsheet shows as typed, never evaluates."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def capture_links_csv(*, exams: Iterable[Exam]) -> str:
    """One row per student per exam, with the link that opens the exam for them."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads UTF-8 only with a BOM
    writer = csv.writer(buffer)
    writer.writerow(CAPTURE_LINK_COLUMNS)
    for exam in exams:
        starts_at = timezone.localtime(exam.starts_at).isoformat(timespec="minutes")
        for session in exam_sessions_with_students(exam=exam):
            student = session.student
            row = [student.student_number, student.full_name, student.email, str(exam),
                   starts_at, capture_url(session=session)]  # fmt: skip
            writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()


def capture_links_filename(*, exam: Exam) -> str:
    course = re.sub(r"[^A-Za-z0-9_.-]", "_", exam.course)  # safe in a header
    return f"{course}-{exam.pk}-capture-links.csv"
