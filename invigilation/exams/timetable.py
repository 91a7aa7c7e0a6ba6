"""Creating exams from a timetable CSV: every line is checked first, and the exams are
created only when every line is good, so a file with a bad line writes nothing."""

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone

from invigilation.core.clock import format_datetime
from invigilation.exams.models import Exam
from invigilation.exams.services import assign_invigilator, enrol_students
from invigilation.students.imports import CsvRow, UploadRejected, read_csv_rows
from invigilation.students.models import Student
from invigilation.students.services import ImportReport

COLUMN_ALIASES = {
    "title": {"title", "exam", "exam_title"},
    "course": {"course", "course_code", "module"},
    "start": {"start", "starts_at", "start_time"},
    "end": {"end", "ends_at", "end_time"},
    "mode": {"mode"},
    "room": {"room", "location"},
    "invigilators": {"invigilators", "invigilator"},
    "students": {"students", "student_numbers"},
}
REQUIRED_COLUMNS = ("title", "course", "start", "end")
# Which column a model field's error is about.
COLUMN_OF_FIELD = {"starts_at": "start", "ends_at": "end"}
LIST_SEPARATORS = re.compile(r"[\s;,]+")
FIRST_YEAR, LAST_YEAR = 2000, 2099


class BadLine(ValueError):
    """What is wrong with one line, in words for the uploader."""


@dataclass(frozen=True)
class PlannedExam:
    line: int
    exam: Exam  # checked, not saved yet
    invigilators: list[AbstractBaseUser]
    students: list[Student]

    def describe(self) -> str:
        people = f"{len(self.invigilators)} invigilator(s), {len(self.students)} student(s)"
        return f"{self.exam}, {format_datetime(self.exam.starts_at)}: {people}"


def import_timetable(*, data: bytes) -> ImportReport:
    """Check every line, then create all the exams, or none when any line is bad."""
    rows = list(read_csv_rows(data, aliases=COLUMN_ALIASES, required=REQUIRED_COLUMNS))
    if not rows:
        raise UploadRejected("The CSV file has a header but no exam rows.")
    users, students = _users_named_in(rows), _students_named_in(rows)
    first_line_of: dict[tuple, int] = {}
    checked: list[tuple[int, PlannedExam | str]] = []
    for row in rows:
        try:
            plan = _plan(row, users, students)
            _check_not_a_duplicate(plan, first_line_of)
        except BadLine as exc:
            checked.append((row.line, str(exc)))
        else:
            checked.append((row.line, plan))
    planned = [item for _, item in checked if isinstance(item, PlannedExam)]
    complete = len(planned) == len(checked)
    if complete:
        _create(planned)
    report = ImportReport()
    for line, item in checked:
        if isinstance(item, str):
            report.add(f"line {line}", False, item)
        else:
            done = f"created {item.describe()}" if complete else f"{item.describe()} (not imported)"
            report.add(f"line {line}", True, done)
    return report


def _names(cell: str) -> list[str]:
    return [name for name in LIST_SEPARATORS.split(cell) if name]


def _users_named_in(rows: list[CsvRow]) -> dict[str, AbstractBaseUser]:
    names = {name for row in rows for name in _names(row.values.get("invigilators", ""))}
    users = get_user_model().objects.filter(username__in=names, is_active=True)
    return {user.get_username(): user for user in users}


def _students_named_in(rows: list[CsvRow]) -> dict[str, Student]:
    numbers = {n.upper() for row in rows for n in _names(row.values.get("students", ""))}
    found = Student.objects.annotate(number=Upper("student_number")).filter(number__in=numbers)
    return {student.number: student for student in found}


def _plan(row: CsvRow, users: dict, students: dict) -> PlannedExam:
    values, problems, unparsed = row.values, [], []
    invigilators = _names(values.get("invigilators", ""))
    if unknown := [name for name in invigilators if name not in users]:
        problems.append(f"unknown invigilator username(s): {', '.join(unknown)}")
    numbers = _names(values.get("students", ""))
    if missing := [number for number in numbers if number.upper() not in students]:
        problems.append(f"unknown student number(s): {', '.join(missing)}")
    exam = Exam(title=values["title"], course=values["course"], room=values.get("room", ""))
    for column, field in (("start", "starts_at"), ("end", "ends_at")):
        try:
            setattr(exam, field, _when(values[column]))
        except BadLine as exc:
            problems.append(f"{column}: {exc}")
            unparsed.append(field)
    try:
        exam.mode = _mode(values.get("mode", ""), exam.room)
    except BadLine as exc:
        problems.append(f"mode: {exc}")
        unparsed.append("mode")
    problems += _model_problems(exam, unparsed)
    if problems:
        raise BadLine("; ".join(problems))
    chosen = {students[number.upper()].pk: students[number.upper()] for number in numbers}
    return PlannedExam(
        line=row.line,
        exam=exam,
        invigilators=[users[name] for name in dict.fromkeys(invigilators)],
        students=list(chosen.values()),
    )


def _when(value: str) -> datetime:
    """ISO 8601, or "YYYY-MM-DD HH:MM" in the site's time zone."""
    if not value:
        raise BadLine("missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadLine(f"{value!r} is not a date and time (write e.g. 2025-06-02 09:30)") from None
    if "T" not in value.upper() and " " not in value:
        raise BadLine(f"{value!r} has no time of day (write e.g. 2025-06-02 09:30)")
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise BadLine(f"{value!r}: the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def _mode(value: str, room: str) -> str:
    """room or online; blank: room when a room is named, else online."""
    if not value:
        return Exam.Mode.ROOM if room else Exam.Mode.ONLINE
    modes = {choice.lower(): choice for choice in Exam.Mode.values}
    modes |= {label.lower(): choice for choice, label in Exam.Mode.choices}
    if value.lower() not in modes:
        raise BadLine(f"{value!r} is not room or online")
    return modes[value.lower()]


def _model_problems(exam: Exam, unparsed: list[str]) -> list[str]:
    """The model's own checks (lengths, end after start, a room exam's room), in words."""
    try:
        # The CheckConstraint repeats clean()'s end-after-start check in other words.
        exam.full_clean(exclude=unparsed, validate_constraints=False)
    except ValidationError as exc:
        return [
            f"{COLUMN_OF_FIELD.get(field, field)}: {' '.join(messages)}"
            for field, messages in exc.message_dict.items()
        ]
    return []


def _check_not_a_duplicate(plan: PlannedExam, first_line_of: dict[tuple, int]) -> None:
    exam = plan.exam
    key = (exam.course.upper(), exam.title.upper(), exam.starts_at)
    if key in first_line_of:
        raise BadLine(f"the same exam as line {first_line_of[key]}")
    first_line_of[key] = plan.line
    same = Exam.objects.filter(
        course__iexact=exam.course, title__iexact=exam.title, starts_at=exam.starts_at
    )
    if same.exists():
        raise BadLine(f"{exam} at {format_datetime(exam.starts_at)} already exists")


@transaction.atomic
def _create(planned: list[PlannedExam]) -> None:
    for plan in planned:
        plan.exam.save()
        for user in plan.invigilators:
            assign_invigilator(exam=plan.exam, user=user)
        enrol_students(exam=plan.exam, students=plan.students)
