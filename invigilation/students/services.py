"""Writes to students and their enrolment photos."""

import hashlib
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from invigilation.students.face_check import check_face
from invigilation.students.imports import (
    UploadRejected,
    check_image,
    expand_uploads,
    photo_stem,
    read_csv_rows,
)
from invigilation.students.models import EnrolmentPhoto, Student


@dataclass(frozen=True)
class Outcome:
    source: str  # "line 4" or "photos.zip/S123.jpg"
    ok: bool
    message: str
    student_number: str = ""  # the student the line or file was matched to


@dataclass
class ImportReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, source: str, ok: bool, message: str, student_number: str = "") -> None:
        self.outcomes.append(Outcome(source, ok, message, student_number))

    @property
    def student_numbers(self) -> list[str]:
        return [o.student_number for o in self.outcomes if o.ok and o.student_number]

    @property
    def succeeded(self) -> int:
        return sum(outcome.ok for outcome in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]

    @property
    def failed_count(self) -> int:
        return len(self.failed)


def import_students_csv(*, data: bytes) -> ImportReport:
    """Create or update students from CSV; a bad row is reported and skipped, never fatal."""
    report = ImportReport()
    seen: set[str] = set()
    rows = list(read_csv_rows(data))  # the whole file is read first: a rejected one changes nothing
    for row in rows:
        source = f"line {row.line}"
        number = row.values["student_number"]
        if number.upper() in seen:
            report.add(source, False, f"student number {number} appears twice in the file")
            continue
        seen.add(number.upper())
        try:
            student, created = _upsert_student(row.values)
        except ValidationError as exc:
            report.add(source, False, _validation_text(exc))
        else:
            action = "created" if created else "updated"
            report.add(source, True, f"{action} {student}", student.student_number)
    if not report.outcomes:
        raise UploadRejected("The CSV file has a header but no student rows.")
    return report


def _upsert_student(values: dict[str, str]) -> tuple[Student, bool]:
    number = values["student_number"]
    student = Student.objects.filter(student_number__iexact=number).first()
    created = student is None
    student = student or Student(student_number=number)
    # Empty cells never erase what is already stored.
    for name in ("full_name", "email"):
        if values.get(name):
            setattr(student, name, values[name])
    student.full_clean()
    with transaction.atomic():
        student.save()
    return student, created


def _validation_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            f"{name.replace('_', ' ')}: {' '.join(messages)}"
            for name, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def import_photos(*, uploads: list[tuple[str, bytes]]) -> ImportReport:
    """Store photos from single files and zip archives, matched by student number."""
    report = ImportReport()
    for name, data in uploads:
        try:
            # One member in memory at a time, however many the archive holds.
            for item in expand_uploads(name, data):
                if item.data is None:
                    report.add(item.name, False, item.problem)
                    continue
                report.add(item.name, *_store_photo(item.name, item.data))
        except UploadRejected as exc:  # the archive as a whole (_store_photo catches its own)
            report.add(name, False, str(exc))
    return report


def _store_photo(name: str, data: bytes) -> tuple[bool, str, str]:
    student = match_student(photo_stem(name))
    if student is None:
        return False, f"no student with the number in the file name '{photo_stem(name)}'", ""
    number = student.student_number
    try:
        photo = add_photo(student=student, data=data, original_name=name)
    except UploadRejected as exc:
        return False, str(exc), number
    if photo is None:
        return True, f"already enrolled for {number} (identical photo)", number
    return True, f"added to {number}", number


def match_student(stem: str) -> Student | None:
    """'S123.jpg', 'S123_2.jpg', 'S123-front.png' and 'S123 smith.jpg' all match S123."""
    candidates = [stem, re.split(r"[_\-\s.]", stem, maxsplit=1)[0]]
    for candidate in candidates:
        student = Student.objects.filter(student_number__iexact=candidate).first()
        if student:
            return student
    return None


def add_photo(*, student: Student, data: bytes, original_name: str = "") -> EnrolmentPhoto | None:
    """Validate and store one photo; None when the same photo is already stored."""
    checked = check_image(data)
    digest = hashlib.sha256(data).hexdigest()
    if student.photos.filter(sha256=digest).exists():
        return None
    face = check_face(data)
    if face.accepted is False:
        raise UploadRejected(face.message or "the photo does not show exactly one face")
    photo = EnrolmentPhoto(
        student=student,
        extension=checked.extension,
        width=checked.width,
        height=checked.height,
        sha256=digest,
        original_name=original_name[:255],
        face_check=_face_check_state(face.accepted),
        face_check_message=face.message[:255],
        embedding=face.embedding,
    )
    with transaction.atomic():
        photo.image.save(f"photo.{checked.extension}", ContentFile(data), save=False)
        photo.save()
    return photo


def _face_check_state(accepted: bool | None) -> str:
    if accepted is None:
        return EnrolmentPhoto.FaceCheck.NOT_CHECKED
    return EnrolmentPhoto.FaceCheck.ACCEPTED
