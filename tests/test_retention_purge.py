import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from invigilation.audit.models import AccessEvent
from invigilation.exams.services import check_in, enrol_students
from invigilation.kiosk.models import KioskAttempt
from invigilation.proctoring.models import CheckInAttempt, Flag, FrameRecord
from invigilation.proctoring.services import raise_flag
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.services import add_photo

pytestmark = pytest.mark.django_db(transaction=True)


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (seed * 20, 100, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def world(make_exam, students, settings):
    """An exam 31 days past its end (retention 30) and a recent one; S002 sits both."""
    settings.PHOTO_FACE_CHECKER = "none"
    now = timezone.now()
    old = make_exam("Old", starts_at=now - timedelta(days=31, hours=2),
                    ends_at=now - timedelta(days=31), retention_days=30)  # fmt: skip
    recent = make_exam("Recent", starts_at=now - timedelta(days=2, hours=2),
                       ends_at=now - timedelta(days=2), retention_days=30)  # fmt: skip
    old_sessions = enrol_students(exam=old, students=students[:2])
    enrol_students(exam=recent, students=students[1:2])
    for index, student in enumerate(students):
        add_photo(student=student, data=png(index))
    for session in old_sessions:
        check_in(session=session, verified=True, distance=0.3)
        attempt = CheckInAttempt(session=session, attempted_at=now, outcome="verified",
                                 message="ok", anchor=b"\0" * 512)  # fmt: skip
        attempt.snapshot.save("check-in.jpg", ContentFile(png(7)))
        FrameRecord.objects.create(session=session, captured_at=now, face_count=1)
        raise_flag(session=session, kind="no_face", snapshot=png(9))
    recent_flag = raise_flag(session=recent.sessions.get(), kind="no_face", snapshot=png(8))
    return {"old": old, "recent": recent, "recent_flag": recent_flag}


def files(root: Path, folder: str) -> list[Path]:
    return sorted((root / folder).rglob("*.*")) if (root / folder).exists() else []


def test_purge_removes_exactly_what_is_past_retention(world, settings, capsys):
    media = Path(settings.MEDIA_ROOT)
    assert len(files(media, "snapshots")) == 3 and len(files(media, "enrolment")) == 3
    assert len(files(media, "check-ins")) == 2
    call_command("purge_expired")
    output = capsys.readouterr().out
    assert "purged 1 exam(s): CS101 Old" in output
    assert "deleted 2 frame records, 2 flags (2 snapshots), 2 check-in attempts" in output
    assert "1 enrolment photos" in output
    assert not CheckInAttempt.objects.exists() and files(media, "check-ins") == []
    assert "photos were deleted: S001" in output
    # The old exam's evidence is gone, rows and files; the recent exam's is untouched.
    assert list(Flag.objects.all()) == [world["recent_flag"]]
    assert files(media, "snapshots") == [Path(world["recent_flag"].snapshot.path)]
    assert not FrameRecord.objects.exists()
    # S001 sat only the old exam: photo and embedding deleted. S002 (also in the recent
    # exam) and S003 (no exam yet) keep theirs. Attendance, the academic record, stays.
    assert sorted(EnrolmentPhoto.objects.values_list("student__student_number", flat=True)) == [
        "S002",
        "S003",
    ]
    assert len(files(media, "enrolment")) == 2
    assert not (media / "enrolment" / "S001").exists()  # a folder named by student number
    assert world["old"].sessions.filter(attendance__isnull=False).count() == 2
    world["old"].refresh_from_db()
    assert world["old"].data_purged_at is not None


def test_a_second_purge_finds_nothing_and_dry_run_changes_nothing(world, capsys):
    call_command("purge_expired", "--dry-run")
    assert "1 exam(s) past retention" in capsys.readouterr().out
    assert Flag.objects.count() == 3
    call_command("purge_expired")
    call_command("purge_expired")
    assert "nothing past its retention period" in capsys.readouterr().out


def test_deleting_a_student_removes_their_photos_flags_and_snapshots(world, settings):
    media = Path(settings.MEDIA_ROOT)
    Student.objects.get(student_number="S002").delete()
    assert not Flag.objects.filter(session__student__student_number="S002").exists()
    assert not FrameRecord.objects.filter(session__student__student_number="S002").exists()
    assert len(files(media, "snapshots")) == 1  # S001's flag in the old exam
    assert len(files(media, "enrolment")) == 2


def test_audit_log_events_older_than_its_retention_are_purged(world, settings, capsys):
    settings.AUDIT_RETENTION_DAYS = 365
    now = timezone.now()
    for days in (400, 366, 10):
        AccessEvent.objects.create(at=now - timedelta(days=days), username="invig",
                                   action="viewed", what="exam_report")  # fmt: skip
    call_command("purge_expired", "--dry-run")
    assert "2 audit-log event(s) past retention" in capsys.readouterr().out
    call_command("purge_expired")
    assert "deleted 2 audit-log events older than 365 days" in capsys.readouterr().out
    assert [(now - e.at).days for e in AccessEvent.objects.all()] == [10]
    settings.AUDIT_RETENTION_DAYS = 0  # kept forever
    AccessEvent.objects.create(at=now - timedelta(days=5000), username="invig",
                               action="viewed", what="exam_report")  # fmt: skip
    call_command("purge_expired")
    assert "nothing past its retention period" in capsys.readouterr().out
    assert AccessEvent.objects.count() == 2


def test_the_purge_takes_a_rooms_kiosk_pictures_and_whole_frames_too(world, settings, capsys):
    """An exam in a room leaves pictures of people who need not be enrolled at all: a
    candidate turned away at the kiosk, a stranger seen by a hall camera."""
    media, old = Path(settings.MEDIA_ROOT), world["old"]
    attempt = KioskAttempt(exam=old, outcome="not_enrolled", attempted_at=timezone.now())
    attempt.snapshot.save("door.jpg", ContentFile(png(5)))
    raise_flag(exam=old, kind="unknown_person", snapshot=png(4), thumbnail=png(3))
    assert len(files(media, "kiosk")) == 1
    call_command("purge_expired")
    output = capsys.readouterr().out
    assert "3 flags (4 snapshots), 2 check-in attempts and 1 kiosk attempts" in output
    assert not KioskAttempt.objects.exists() and files(media, "kiosk") == []
    assert files(media, "snapshots") == [Path(world["recent_flag"].snapshot.path)]
