"""A student's data-subject rights: export everything stored about them, and erase it."""

import io
import json
import zipfile
from array import array
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from invigilation.audit.models import AccessEvent
from invigilation.exams.models import Attendance, ExamSession
from invigilation.exams.services import check_in
from invigilation.invitations.models import Invitation
from invigilation.proctoring.models import Flag, FlagReview, FrameRecord
from invigilation.proctoring.services import raise_flag, review_flag
from invigilation.retention.privacy import export_student_data
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.services import add_photo

pytestmark = pytest.mark.django_db


def image(colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def world(sessions, invigilator, settings):
    """S001: two photos (one with an embedding), checked in, three frame records, a reviewed
    flag with a snapshot and one without. S002: a photo and a flag of their own."""
    settings.PHOTO_FACE_CHECKER = "none"
    s1, s2 = sessions["S001"], sessions["S002"]
    photos = [add_photo(student=s1.student, data=image((200, 10 * i, 0))) for i in range(2)]
    EnrolmentPhoto.objects.filter(pk=photos[0].pk).update(
        embedding=array("f", [0.25] * 128).tobytes()
    )
    add_photo(student=s2.student, data=image((0, 0, 200)))
    check_in(session=s1, verified=True, distance=0.31)
    now = timezone.now()
    for second in range(3):
        FrameRecord.objects.create(session=s1, captured_at=now + timedelta(seconds=second),
                                   face_count=1, identity_distance=0.3)  # fmt: skip
    flag = raise_flag(session=s1, kind="multiple_faces", snapshot=image((1, 2, 3), "JPEG"))
    review_flag(flag=flag, reviewer=invigilator, state="confirmed", note="a second person")
    raise_flag(session=s1, kind="no_face")
    other_flag = raise_flag(session=s2, kind="no_face", snapshot=image((4, 5, 6), "JPEG"))
    Invitation.objects.create(session=s1, status="sent", sent_to="ada@example.edu",
                              requested_at=now, sent_at=now, attempts=1)  # fmt: skip
    return {"student": s1.student, "photos": photos, "flag": flag, "other_flag": other_flag}


def files_on_disk(settings) -> set[str]:
    media = Path(settings.MEDIA_ROOT)
    return {str(p.relative_to(media)) for p in media.rglob("*")}


def test_the_export_holds_the_record_photos_and_snapshots(world):
    student, photos, flag = world["student"], world["photos"], world["flag"]
    archive = zipfile.ZipFile(io.BytesIO(export_student_data(student=student)))
    assert sorted(archive.namelist()) == sorted([
        "README.txt", "student.json", f"photos/{photos[0].pk}.png", f"photos/{photos[1].pk}.png",
        f"snapshots/flag-{flag.pk}.jpg",
    ])  # fmt: skip
    for photo in photos:
        assert archive.read(f"photos/{photo.pk}.png") == photo.image.open("rb").read()
    assert archive.read(f"snapshots/flag-{flag.pk}.jpg") == flag.snapshot.open("rb").read()
    record = json.loads(archive.read("student.json"))
    assert record["student"]["student_number"] == "S001"
    assert record["student"]["full_name"] == "Ada Lovelace"
    first, second = record["enrolment_photos"]
    assert first["face_embedding"] == [0.25] * 128 and second["face_embedding"] is None
    (session,) = record["exam_sessions"]  # S001 sits one exam
    assert session["exam"]["title"] == "Algorithms"
    assert session["attendance"]["identity_verified"] is True
    assert session["attendance"]["identity_distance"] == 0.31
    assert [f["face_count"] for f in session["frame_records"]] == [1, 1, 1]
    assert [(f["kind"], f["snapshot"]) for f in session["flags"]] == [
        ("multiple_faces", f"snapshots/flag-{flag.pk}.jpg"), ("no_face", None),
    ]  # fmt: skip
    assert session["flags"][0]["reviews"][0]["note"] == "a second person"
    email = session["capture_link_email"]
    assert (email["status"], email["sent_to"], email["attempts"]) == ("sent", "ada@example.edu", 1)
    assert "token" not in json.dumps(session)  # the capture credential is not personal data


def test_exam_admins_download_the_export_and_it_is_logged(api_as, exam_admin, invigilator, world):
    url = reverse("student-personal-data", args=[world["student"].pk])
    assert api_as(invigilator).get(url).status_code == 403
    response = api_as(exam_admin).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert 'filename="personal-data-S001.zip"' in response["Content-Disposition"]
    assert "student.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    event = AccessEvent.objects.get()
    assert (event.username, event.action, event.what, event.student) == (
        "examadmin", "exported", "personal_data", world["student"]
    )  # fmt: skip


def test_erasure_needs_the_student_number_typed_again(api_as, exam_admin, invigilator, world):
    url = reverse("student-erase", args=[world["student"].pk])
    assert api_as(invigilator).post(url, {"confirm": "S001"}).status_code == 403
    client = api_as(exam_admin)
    for body in [{}, {"confirm": ""}, {"confirm": "S002"}]:
        response = client.post(url, body, format="json")
        assert response.status_code == 400 and "confirm" in response.json()
    assert response.json()["confirm"] == [
        "Type the student's number (S001) to confirm: erasure cannot be undone."
    ]
    assert client.post(url, ["S001"], format="json").status_code == 400
    assert Student.objects.filter(student_number="S001").exists()


def test_erasure_deletes_the_rows_and_files_and_keeps_the_trail(
    api_as, client, exam_admin, invigilator, world, settings, django_capture_on_commit_callbacks
):
    student, other_flag = world["student"], world["other_flag"]
    client.force_login(invigilator)
    client.get(reverse("students:photo", args=[world["photos"][0].pk]))  # a view, logged
    before = files_on_disk(settings)
    assert "enrolment/S001" in before
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(exam_admin).post(
            reverse("student-erase", args=[student.pk]), {"confirm": "s001"}
        )
    assert response.status_code == 200, response.content
    assert response.json() == {"student_number": "S001", "photos": 2, "exam_sessions": 1,
                               "frame_records": 3, "flags": 2, "snapshots": 1}  # fmt: skip
    # Nothing of S001 is left, in the database or on disk; S002 is untouched.
    assert not Student.objects.filter(pk=student.pk).exists()
    assert not ExamSession.objects.filter(student_id=student.pk).exists()
    assert not Attendance.objects.exists() and not FrameRecord.objects.exists()
    assert list(Flag.objects.all()) == [other_flag] and not FlagReview.objects.exists()
    assert list(EnrolmentPhoto.objects.values_list("student__student_number", flat=True)) == [
        "S002"
    ]
    after = files_on_disk(settings)
    assert not any("S001" in name for name in after)
    assert other_flag.snapshot.name in after
    removed = before - after
    assert {world["photos"][0].image.name, world["flag"].snapshot.name} <= removed
    # The audit trail stays, naming the student by number only.
    trail = [(e.action, e.what, e.student_id, e.student_number)
             for e in AccessEvent.objects.order_by("pk")]  # fmt: skip
    assert trail == [("viewed", "enrolment_photo", None, "S001"),
                     ("erased", "personal_data", None, "S001")]  # fmt: skip


def test_admin_actions_export_and_erase_after_confirmation(
    client, exam_admin, world, settings, django_capture_on_commit_callbacks
):
    client.force_login(exam_admin)
    changelist = reverse("admin:students_student_changelist")
    student = world["student"]
    other = Student.objects.get(student_number="S002")

    def act(action: str, *students: Student, **extra) -> object:
        data = {"action": action, ACTION_CHECKBOX_NAME: [s.pk for s in students], **extra}
        return client.post(changelist, data, follow=True)

    response = act("export_personal_data", student)
    assert response["Content-Type"] == "application/zip"
    assert "student.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    response = act("export_personal_data", student, other)
    assert "Select one student" in response.content.decode()

    page = act("erase_personal_data", student)
    assert page.status_code == 200
    assert "Yes, erase 1 student(s)" in page.content.decode()
    assert Student.objects.filter(pk=student.pk).exists()  # nothing happens until confirmed
    with django_capture_on_commit_callbacks(execute=True):
        response = act("erase_personal_data", student, confirm="yes")
    assert "Erased S001 with all their data." in response.content.decode()
    assert list(Student.objects.values_list("student_number", flat=True)) == ["S002", "S003"]
    assert not any("S001" in name for name in files_on_disk(settings))
    assert [(e.action, e.student_number) for e in AccessEvent.objects.order_by("pk")] == [
        ("exported", "S001"), ("erased", "S001"),
    ]  # fmt: skip


def test_the_admins_own_delete_erases_files_and_is_audited(
    client, exam_admin, world, settings, django_capture_on_commit_callbacks
):
    client.force_login(exam_admin)
    student = world["student"]
    url = reverse("admin:students_student_delete", args=[student.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Student.objects.filter(pk=student.pk).exists()
    assert not any("S001" in name for name in files_on_disk(settings))  # folder included
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:students_student_changelist"), {
            "action": "delete_selected", ACTION_CHECKBOX_NAME: [Student.objects.get(
                student_number="S002").pk], "post": "yes",
        })  # fmt: skip
    assert not any("S002" in name for name in files_on_disk(settings))
    assert [(e.action, e.student_number) for e in AccessEvent.objects.order_by("pk")] == [
        ("erased", "S001"), ("erased", "S002"),
    ]  # fmt: skip
