"""Deleting what is past its retention period: an exam's frames, flags, snapshots, check-in
pictures and photos, and audit-log events older than AUDIT_RETENTION_DAYS."""

import logging
import posixpath
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from invigilation.audit.models import AccessEvent
from invigilation.core.files import remove_empty_folder_on_commit
from invigilation.exams.models import Exam
from invigilation.kiosk.models import KioskAttempt
from invigilation.proctoring.models import CheckInAttempt, Flag, FrameRecord
from invigilation.students.models import EnrolmentPhoto, Student

logger = logging.getLogger(__name__)


@dataclass
class PurgeReport:
    exams: list[str] = field(default_factory=list)
    frame_records: int = 0
    flags: int = 0
    snapshots: int = 0
    check_ins: int = 0  # check-in attempts, with their picture and session face reference
    kiosk_attempts: int = 0  # candidates at an exam room's kiosk, with their picture
    photos: int = 0
    students_without_photos: list[str] = field(default_factory=list)
    access_events: int = 0


def expired_exams(*, now: datetime) -> list[Exam]:
    candidates = Exam.objects.filter(ends_at__lt=now, data_purged_at__isnull=True)
    return [exam for exam in candidates if exam.retained_until <= now]


def expired_access_events(*, now: datetime) -> QuerySet[AccessEvent]:
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return AccessEvent.objects.none()
    return AccessEvent.objects.filter(at__lt=now - timedelta(days=days))


@transaction.atomic
def purge_expired_data(*, now: datetime) -> PurgeReport:
    """Delete, for every exam past its retention, its frame records, flags (with their
    snapshots and reviews) and the enrolment photos and face embeddings of students who sit
    no exam still within retention. Attendance stays: it is the exam's academic record."""
    report = PurgeReport()
    exams = expired_exams(now=now)
    for exam in exams:
        _purge_exam(exam, now, report)
    if exams:
        _purge_biometrics(exams, report)
    report.access_events = expired_access_events(now=now).delete()[0]
    for line in describe(report):
        logger.info(line)
    return report


def _purge_exam(exam: Exam, now: datetime, report: PurgeReport) -> None:
    flags = Flag.objects.filter(exam=exam)
    report.snapshots += flags.exclude(snapshot="").count() + flags.exclude(thumbnail="").count()
    report.flags += flags.count()
    flags.delete()  # per-row post_delete removes each snapshot file after the commit
    report.frame_records += FrameRecord.objects.filter(session__exam=exam).delete()[0]
    # A check-in's picture and face embeddings are biometric data: they go with the flags.
    # Attendance stays, and says whether the student was verified.
    report.check_ins += CheckInAttempt.objects.filter(session__exam=exam).delete()[0]
    report.kiosk_attempts += KioskAttempt.objects.filter(exam=exam).delete()[0]
    exam.data_purged_at = now
    exam.save(update_fields=["data_purged_at"])
    report.exams.append(str(exam))


def _purge_biometrics(exams: list[Exam], report: PurgeReport) -> None:
    still_needed = Student.objects.filter(sessions__exam__data_purged_at__isnull=True)
    done = Student.objects.filter(sessions__exam__in=exams).exclude(pk__in=still_needed)
    photos = EnrolmentPhoto.objects.filter(student__in=done)
    report.photos += photos.count()
    report.students_without_photos += sorted(
        set(photos.values_list("student__student_number", flat=True))
    )
    folders = {posixpath.dirname(name) for name in photos.values_list("image", flat=True)}
    photos.delete()  # files removed after the commit, embeddings with the rows
    storage = EnrolmentPhoto._meta.get_field("image").storage
    for folder in folders:  # named by student number
        remove_empty_folder_on_commit(storage, folder)


def describe(report: PurgeReport) -> list[str]:
    """Human-readable lines for the log and the command's output."""
    events = (
        [f"retention: deleted {report.access_events} audit-log events older than "
         f"{settings.AUDIT_RETENTION_DAYS} days"]
        if report.access_events else []
    )  # fmt: skip
    if not report.exams:
        return events or ["retention: nothing past its retention period"]
    return events + [
        f"retention: purged {len(report.exams)} exam(s): {'; '.join(report.exams)}",
        f"retention: deleted {report.frame_records} frame records, {report.flags} flags "
        f"({report.snapshots} snapshots), {report.check_ins} check-in attempts and "
        f"{report.kiosk_attempts} kiosk attempts with their pictures, {report.photos} enrolment "
        "photos with embeddings",
        "retention: students whose photos were deleted: "
        + (", ".join(report.students_without_photos) or "none"),
    ]
