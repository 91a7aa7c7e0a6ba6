"""Writes to students and their enrolment photos."""

import hashlib
import logging
import re
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from invigilation.students import embeddings
from invigilation.students.face_check import FaceCheckResult, check_face
from invigilation.students.imports import (
    UploadRejected,
    check_image,
    expand_uploads,
    photo_stem,
    read_csv_rows,
)
from invigilation.students.models import EnrolmentPhoto, Student

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    source: str  # "line 4" or "photos.zip/S123.jpg"
    ok: bool
    message: str
    student_number: str = ""  # the student the line or file was matched to
    photo: EnrolmentPhoto | None = None  # a photo stored (its face check may be pending)


@dataclass
class ImportReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(
        self,
        source: str,
        ok: bool,
        message: str,
        student_number: str = "",
        photo: EnrolmentPhoto | None = None,
    ) -> None:
        self.outcomes.append(Outcome(source, ok, message, student_number, photo))

    @property
    def photos(self) -> list[EnrolmentPhoto]:
        return [o.photo for o in self.outcomes if o.photo is not None]

    @property
    def pending(self) -> int:
        """Photos stored whose face check has not finished (when the report was made)."""
        return sum(p.face_check == EnrolmentPhoto.FaceCheck.PENDING for p in self.photos)

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


def import_photos(*, uploads: list[tuple[str, bytes]], check_inline: bool = False) -> ImportReport:
    """Store photos from single files and zip archives, matched by student number. Each
    photo's face check is queued for a worker (or, with `check_inline`, run here)."""
    report = ImportReport()
    for name, data in uploads:
        try:
            # One member in memory at a time, however many the archive holds.
            for item in expand_uploads(name, data):
                if item.data is None:
                    report.add(item.name, False, item.problem)
                    continue
                report.add(item.name, *_store_photo(item.name, item.data, check_inline))
        except UploadRejected as exc:  # the archive as a whole (_store_photo catches its own)
            report.add(name, False, str(exc))
    return report


def _store_photo(
    name: str, data: bytes, check_inline: bool
) -> tuple[bool, str, str, EnrolmentPhoto | None]:
    student = match_student(photo_stem(name))
    if student is None:
        return False, f"no student with the number in the file name '{photo_stem(name)}'", "", None
    number = student.student_number
    try:
        photo = add_photo(student=student, data=data, original_name=name, check_inline=check_inline)
    except UploadRejected as exc:
        return False, str(exc), number, None
    if photo is None:
        return True, f"already enrolled for {number} (identical photo)", number, None
    if photo.face_check == EnrolmentPhoto.FaceCheck.REJECTED:
        return False, f"{number}: {photo.status_text}", number, photo
    if photo.face_check == EnrolmentPhoto.FaceCheck.PENDING:
        return True, f"added to {number}; checking the face…", number, photo
    return True, f"added to {number}", number, photo


def match_student(stem: str) -> Student | None:
    """'S123.jpg', 'S123_2.jpg', 'S123-front.png' and 'S123 smith.jpg' all match S123."""
    candidates = [stem, re.split(r"[_\-\s.]", stem, maxsplit=1)[0]]
    for candidate in candidates:
        student = Student.objects.filter(student_number__iexact=candidate).first()
        if student:
            return student
    return None


def add_photo(
    *, student: Student, data: bytes, original_name: str = "", check_inline: bool = False
) -> EnrolmentPhoto | None:
    """Validate and store one photo, its face check pending; None when the same photo is
    already stored. The face check (the vision models) runs on a worker, queued once the
    photo is committed: the web process never loads the models. `check_inline` runs it here
    instead, for commands outside the web server (an import run from a shell, benchmarks)."""
    checked = check_image(data)  # a file that is no image is refused at once
    digest = hashlib.sha256(data).hexdigest()
    existing = student.photos.filter(sha256=digest).first()
    if existing is not None and existing.face_check == EnrolmentPhoto.FaceCheck.REJECTED:
        existing.delete()  # uploaded again after a rejection: checked again
    elif existing is not None:
        return None
    photo = EnrolmentPhoto(
        student=student,
        extension=checked.extension,
        width=checked.width,
        height=checked.height,
        sha256=digest,
        original_name=original_name[:255],
        face_check=EnrolmentPhoto.FaceCheck.PENDING,
        source=EnrolmentPhoto.Source.UPLOAD,
        confirmed_at=timezone.now(),  # staff uploaded it: confirmed
    )
    with transaction.atomic():
        photo.image.save(f"photo.{checked.extension}", ContentFile(data), save=False)
        photo.save()
        if not check_inline:
            # By id, after the commit: the worker finds the row, the broker holds no image.
            transaction.on_commit(lambda: queue_face_check(photo_id=photo.pk))
    if check_inline:
        return check_photo_face(photo_id=photo.pk, data=data)
    return photo


def queue_face_check(*, photo_id: int) -> None:
    from invigilation.students.tasks import check_enrolment_photo  # noqa: PLC0415 - no cycle

    check_enrolment_photo.delay(photo_id)


def check_photo_face(*, photo_id: int, data: bytes | None = None) -> EnrolmentPhoto | None:
    """Run the face check of a pending photo and store its verdict (accepted with the
    embedding, or rejected with the reason). Runs on a worker (students/tasks.py), or inline
    from a command. None when the photo is gone (deleted, or the student erased)."""
    photo = EnrolmentPhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        return None
    if photo.face_check != EnrolmentPhoto.FaceCheck.PENDING:
        return photo  # checked already: a task delivered twice does nothing more
    try:
        if data is None:
            with photo.image.open("rb") as handle:
                data = handle.read()
        verdict = check_face(data)
    except Exception as exc:  # noqa: BLE001 - a verdict is stored whatever went wrong
        logger.exception("Face check of photo %s failed", photo_id)
        verdict = FaceCheckResult(
            False, f"the face check failed ({type(exc).__name__}); upload the photo again"
        )
    return _store_verdict(photo, verdict)


def _store_verdict(photo: EnrolmentPhoto, face: FaceCheckResult) -> EnrolmentPhoto | None:
    if face.accepted is None:
        state, embedding = EnrolmentPhoto.FaceCheck.NOT_CHECKED, None
    elif face.accepted and face.embedding:
        state, embedding = EnrolmentPhoto.FaceCheck.ACCEPTED, face.embedding
    else:
        state, embedding = EnrolmentPhoto.FaceCheck.REJECTED, None
    message = face.message or ("" if face.accepted else "the photo does not show exactly one face")
    # Only a photo still pending is written: one deleted or decided meanwhile is left alone.
    updated = EnrolmentPhoto.objects.filter(
        pk=photo.pk, face_check=EnrolmentPhoto.FaceCheck.PENDING
    ).update(
        face_check=state, face_check_message=message[:255], embedding=embedding,
        checked_at=timezone.now(),
    )  # fmt: skip
    if not updated:
        return EnrolmentPhoto.objects.filter(pk=photo.pk).first()
    photo.refresh_from_db()
    return photo


def self_enrol(*, student: Student, jpeg: bytes, embedding: bytes) -> EnrolmentPhoto:
    """The student's check-in frame as their reference photo (an exam with self-enrolment,
    a student with no usable photo): accepted with the embedding the worker computed (float32
    bytes), unconfirmed until an invigilator approves it. Runs no face model."""
    embeddings.from_bytes(embedding)  # ValueError unless whole stored vectors
    checked = check_image(jpeg)
    digest = hashlib.sha256(jpeg).hexdigest()
    now = timezone.now()
    with transaction.atomic():
        existing = student.photos.filter(sha256=digest).first()
        if existing is not None:  # the same frame sent twice
            return existing
        photo = EnrolmentPhoto(
            student=student,
            extension=checked.extension,
            width=checked.width,
            height=checked.height,
            sha256=digest,
            original_name="check-in.jpg",
            face_check=EnrolmentPhoto.FaceCheck.ACCEPTED,
            face_check_message="one face, at check-in",
            checked_at=now,
            embedding=bytes(embedding),
            source=EnrolmentPhoto.Source.CHECK_IN,
        )
        photo.image.save(f"photo.{checked.extension}", ContentFile(jpeg), save=False)
        photo.save()
    return photo


class ReferenceRefused(ValueError):
    """The photo cannot be confirmed or rejected (not a check-in photo awaiting approval)."""


def confirm_reference(*, photo: EnrolmentPhoto, user: AbstractBaseUser) -> EnrolmentPhoto:
    """An invigilator approves a self-enrolled reference photo: it is the student."""
    if photo.source != EnrolmentPhoto.Source.CHECK_IN:
        raise ReferenceRefused("Only a photo taken at check-in needs confirming.")
    if photo.confirmed_at is None:
        photo.confirmed_at, photo.confirmed_by = timezone.now(), user
        photo.save(update_fields=["confirmed_at", "confirmed_by"])
    return photo


def reject_reference(*, photo: EnrolmentPhoto, user: AbstractBaseUser, note: str) -> None:
    """An invigilator rejects a self-enrolled reference photo (it is not the student): the
    photo, its file and its embedding are deleted. The caller logs who did it and why."""
    if photo.source != EnrolmentPhoto.Source.CHECK_IN:
        raise ReferenceRefused("Only a photo taken at check-in can be rejected here.")
    if photo.confirmed_at is not None:
        raise ReferenceRefused("This reference photo was confirmed already.")
    if not note.strip():
        raise ReferenceRefused("Say why: rejecting a reference photo needs a note.")
    photo.delete()  # the file goes after the commit (signals.py)
