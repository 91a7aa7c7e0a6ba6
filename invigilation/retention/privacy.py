"""A student's data-subject rights: a copy of everything stored about them, and erasure.

Erasure deletes rather than anonymises: a flag or frame record is about one identifiable
student even without their name (its snapshot shows their face), so nothing of it is kept.
The exam's report then no longer counts the student. What stays is the audit log's events,
which name the student by number only, as the record of who accessed and who erased.
"""

import io
import json
import logging
import posixpath
import zipfile
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from invigilation.core.files import remove_empty_folder_on_commit
from invigilation.exams.models import Attendance, ExamSession
from invigilation.proctoring.models import Flag, FrameRecord
from invigilation.students import embeddings
from invigilation.students.models import EnrolmentPhoto, Student

logger = logging.getLogger(__name__)

FRAME_FIELDS = ["captured_at", "face_count", "identity_match", "identity_distance", "yaw",
                "pitch", "expression", "brightness", "sharpness"]  # fmt: skip
README = """\
Everything the invigilation service stores about you, as of the export time in student.json.

student.json   your student record; your enrolment photos with their face embeddings (the
               numbers the identity check compares); per exam: your session, attendance
               (check-in time and identity result), the email that sent you the exam's
               link (address, time, outcome), the result of each analysed webcam
               frame (the frames themselves are never stored) and the flags raised, with
               the review decisions taken on them.
photos/        your enrolment photos.
snapshots/     the webcam frame saved with each flag, faces boxed.
"""


def export_student_data(*, student: Student) -> bytes:
    """A zip of the student's record (student.json), enrolment photos and flag snapshots."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        record = {
            "exported_at": timezone.now(),
            "student": {
                "student_number": student.student_number,
                "full_name": student.full_name,
                "email": student.email,
                "created_at": student.created_at,
                "updated_at": student.updated_at,
            },
            "enrolment_photos": [_photo(archive, p) for p in student.photos.order_by("pk")],
            "exam_sessions": [
                _session(archive, s)
                for s in student.sessions.select_related("exam", "attendance").order_by("pk")
            ],
        }
        archive.writestr("student.json", json.dumps(record, cls=DjangoJSONEncoder, indent=2))
        archive.writestr("README.txt", README)
    return buffer.getvalue()


def _photo(archive: zipfile.ZipFile, photo: EnrolmentPhoto) -> dict[str, Any]:
    embedding = embeddings.from_bytes(photo.embedding)[0].tolist() if photo.embedding else None
    return {
        "file": _add_file(archive, photo.image, f"photos/{photo.pk}.{photo.extension}"),
        "original_name": photo.original_name,
        "width": photo.width,
        "height": photo.height,
        "sha256": photo.sha256,
        "face_check": photo.face_check,
        "face_check_message": photo.face_check_message,
        "face_embedding": embedding,
        "checked_at": photo.checked_at,
        "source": photo.source,  # uploaded by staff, or taken at the student's check-in
        "confirmed_at": photo.confirmed_at,
        "uploaded_at": photo.uploaded_at,
    }


def _session(archive: zipfile.ZipFile, session: ExamSession) -> dict[str, Any]:
    exam = session.exam
    attendance = getattr(session, "attendance", None)
    frames = FrameRecord.objects.filter(session=session).order_by("captured_at")
    flags = Flag.objects.filter(session=session).prefetch_related("reviews").order_by("raised_at")
    return {
        "exam": {
            "title": exam.title,
            "course": exam.course,
            "starts_at": exam.starts_at,
            "ends_at": exam.ends_at,
            "mode": exam.mode,
            "room": exam.room,
            "data_kept_until": exam.retained_until,
        },
        "status": session.status,
        "started_at": session.started_at,
        "finished_at": session.finished_at,
        "attendance": _attendance(attendance) if attendance else None,
        "capture_link_email": _invitation(getattr(session, "invitation", None)),
        "frame_records": list(frames.values(*FRAME_FIELDS)),
        "flags": [_flag(archive, flag) for flag in flags],
    }


def _attendance(attendance: Attendance) -> dict[str, Any]:
    return {
        "checked_in_at": attendance.checked_in_at,
        "identity_verified": attendance.verified,
        "identity_distance": attendance.verification_distance,
        "note": attendance.note,
    }


def _invitation(invitation) -> dict[str, Any] | None:
    """The email that sent the capture link: where to, when, and how it went."""
    if invitation is None:
        return None
    return {
        "status": invitation.status,
        "reason": invitation.reason,
        "sent_to": invitation.sent_to,
        "requested_at": invitation.requested_at,
        "last_sent_at": invitation.sent_at,
        "attempts": invitation.attempts,
    }


def _flag(archive: zipfile.ZipFile, flag: Flag) -> dict[str, Any]:
    return {
        "kind": flag.kind,
        "severity": flag.get_severity_display(),
        "confidence": flag.confidence,
        "raised_at": flag.raised_at,
        "message": flag.message,
        "evidence": flag.evidence,
        "snapshot": _add_file(archive, flag.snapshot, f"snapshots/flag-{flag.pk}.jpg"),
        "review_state": flag.review_state,
        # The decisions and their reasons; the reviewers are staff, not named here.
        "reviews": [
            {"state": r.state, "note": r.note, "reviewed_at": r.reviewed_at}
            for r in flag.reviews.all()
        ],
    }


def _add_file(archive: zipfile.ZipFile, field_file: FieldFile, name: str) -> str | None:
    """Copy a stored file into the zip; its name there, or None when there is none."""
    if not field_file:
        return None
    try:
        with field_file.open("rb") as handle:
            archive.writestr(name, handle.read())
    except FileNotFoundError:
        logger.warning("privacy export: %s is missing from storage", field_file.name)
        return None
    return name


@dataclass(frozen=True)
class ErasureReport:
    student_number: str
    photos: int
    exam_sessions: int
    frame_records: int
    flags: int
    snapshots: int


@transaction.atomic
def erase_student_data(*, student: Student, by: AbstractBaseUser) -> ErasureReport:
    """Delete the student with everything stored about them: enrolment photos and face
    embeddings, exam sessions and attendance, frame records, flags with their snapshots and
    reviews. Files leave the disk once the deletion is committed."""
    flags = Flag.objects.filter(session__student=student)
    photos = list(student.photos.all())
    report = ErasureReport(
        student_number=student.student_number,
        photos=len(photos),
        exam_sessions=student.sessions.count(),
        frame_records=FrameRecord.objects.filter(session__student=student).count(),
        flags=flags.count(),
        snapshots=flags.exclude(snapshot="").count(),
    )
    # Rows cascade; the post_delete signals remove each photo and snapshot file on commit.
    student.delete()
    for photo in photos:  # their folder is named by the student number
        remove_empty_folder_on_commit(photo.image.storage, posixpath.dirname(photo.image.name))
    logger.info("privacy: %s erased %s", by.get_username(), report)
    return report
