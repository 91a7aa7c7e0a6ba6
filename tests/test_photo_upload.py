import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from invigilation.students.face_check import FaceCheckResult
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.selectors import reference_photo_ids
from invigilation.students.services import add_photo, import_photos
from invigilation.students.tasks import check_enrolment_photo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_face_check(settings):
    """These tests are about file handling: synthetic images, no faces to check."""
    settings.PHOTO_FACE_CHECKER = "none"


def image_bytes(fmt: str = "JPEG", size=(64, 80), colour=(200, 150, 120)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def outcomes(report) -> dict[str, tuple[bool, str]]:
    return {o.source: (o.ok, o.message) for o in report.outcomes}


def test_single_photos_are_matched_by_student_number(students):
    report = import_photos(uploads=[
        ("S001.jpg", image_bytes()),
        ("s002_front.png", image_bytes("PNG")),
        ("S003-2.webp", image_bytes("WEBP")),
    ])  # fmt: skip
    assert report.failed_count == 0, report.failed
    assert [s.photos.count() for s in students] == [1, 1, 1]
    photo = students[1].photos.get()
    assert (photo.extension, photo.width, photo.height) == ("png", 64, 80)
    assert photo.face_check == EnrolmentPhoto.FaceCheck.PENDING  # checked on a worker
    assert photo.confirmed and photo.source == EnrolmentPhoto.Source.UPLOAD
    check_enrolment_photo(photo.pk)  # what the worker runs
    photo.refresh_from_db()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.NOT_CHECKED  # no checker configured
    assert Path(photo.image.path).is_file()
    assert "s002" not in photo.image.name  # stored under a random name, not the upload's


def test_zip_archives_are_unpacked_and_path_tricks_are_harmless(students, settings):
    archive = zip_bytes({
        "class/S001.jpg": image_bytes(),
        "../../etc/S002.jpg": image_bytes(colour=(1, 2, 3)),
        "__MACOSX/._S001.jpg": b"junk",
        ".DS_Store": b"junk",
    })  # fmt: skip
    report = import_photos(uploads=[("photos.zip", archive)])
    assert outcomes(report) == {
        "photos.zip/S001.jpg": (True, "added to S001; checking the face…"),
        "photos.zip/S002.jpg": (True, "added to S002; checking the face…"),
    }
    stored = sorted(p.relative_to(settings.MEDIA_ROOT) for p in settings.MEDIA_ROOT.rglob("*.jpg"))
    assert [str(p.parent) for p in stored] == ["enrolment/S001", "enrolment/S002"]


def test_each_bad_file_gets_its_own_reason_and_the_rest_still_land(students, settings):
    settings.PHOTO_MAX_BYTES = 50_000
    truncated = image_bytes(size=(300, 300))[:-400]
    report = import_photos(uploads=[
        ("S001.jpg", image_bytes()),
        ("S002.jpg", b"this is not an image"),
        ("S003.jpg", truncated),
        ("S999.jpg", image_bytes()),
        ("S002.gif", _gif()),
        ("S003.png", b"\x89PNG" + b"x" * 60_000),
        ("S002.bmp", b""),
    ])  # fmt: skip
    result = outcomes(report)
    assert result["S001.jpg"][0] is True
    assert "not an image" in result["S002.jpg"][1]
    assert "corrupt or truncated" in result["S003.jpg"][1]
    assert "no student" in result["S999.jpg"][1]
    assert "GIF images are not accepted" in result["S002.gif"][1]
    assert "too large" in result["S003.png"][1]
    assert "empty" in result["S002.bmp"][1]
    assert EnrolmentPhoto.objects.count() == 1


def test_zip_bombs_and_corrupt_archives_are_refused(students, settings):
    settings.PHOTO_MAX_BYTES = 1_000_000
    bomb = zip_bytes({"S001.jpg": b"\x00" * 20_000_000})
    assert len(bomb) < 100_000
    corrupt = zip_bytes({"S002.jpg": image_bytes()})[:-30]
    settings.PHOTO_ZIP_MAX_FILES = 2
    crowded = zip_bytes({f"S00{i}.jpg": b"x" for i in range(3)})
    report = import_photos(uploads=[
        ("bomb.zip", bomb), ("corrupt.zip", corrupt), ("crowded.zip", crowded)
    ])  # fmt: skip
    result = outcomes(report)
    assert "too large" in result["bomb.zip/S001.jpg"][1]
    assert result["crowded.zip"] == (False, "crowded.zip: 3 files; at most 2.")
    assert not any(ok for ok, _ in result.values())
    assert EnrolmentPhoto.objects.count() == 0


def test_the_same_photo_twice_is_stored_once(students):
    photo = image_bytes()
    import_photos(uploads=[("S001.jpg", photo)])
    report = import_photos(uploads=[("S001_again.jpg", photo)])
    assert "identical photo" in report.outcomes[0].message
    assert students[0].photos.count() == 1


def reject_all(image: bytes) -> FaceCheckResult:
    return FaceCheckResult(accepted=False, message="2 faces found; the photo must show one")


def accept_all(image: bytes) -> FaceCheckResult:
    return FaceCheckResult(accepted=True, message="1 face", embedding=b"\x00" * 512)


def explode(image: bytes) -> FaceCheckResult:
    raise RuntimeError("model crashed")


def test_a_rejected_photo_is_kept_with_the_reason_and_never_used(students, settings):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.reject_all"
    report = import_photos(uploads=[("S001.jpg", image_bytes())])
    assert outcomes(report)["S001.jpg"] == (True, "added to S001; checking the face…")
    photo = EnrolmentPhoto.objects.get()
    check_enrolment_photo(photo.pk)
    photo.refresh_from_db()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.REJECTED
    assert photo.status_text == "rejected: 2 faces found; the photo must show one"
    assert photo.embedding is None and photo.checked_at is not None
    assert reference_photo_ids(student_ids=[students[0].pk]) == {}


def test_face_check_hook_stores_the_embedding(students, settings):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.accept_all"
    import_photos(uploads=[("S001.jpg", image_bytes())])
    photo = EnrolmentPhoto.objects.get()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.PENDING and photo.embedding is None
    assert reference_photo_ids(student_ids=[students[0].pk]) == {}  # not used while pending
    check_enrolment_photo(photo.pk)
    photo.refresh_from_db()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.ACCEPTED
    assert bytes(photo.embedding) == b"\x00" * 512
    assert reference_photo_ids(student_ids=[students[0].pk]) == {students[0].pk: photo.pk}
    settings.PHOTO_FACE_CHECKER = f"{__name__}.reject_all"
    check_enrolment_photo(photo.pk)  # delivered twice: the verdict stands
    photo.refresh_from_db()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.ACCEPTED


def test_the_check_is_queued_by_photo_id_after_the_commit(
    students, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(check_enrolment_photo, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        photo = add_photo(student=students[0], data=image_bytes())
    assert queued == [] and len(callbacks) == 1  # nothing before the commit
    callbacks[0]()
    assert queued == [(photo.pk,)]  # the id only: no image through the broker


def test_a_commmand_may_check_inline(students, settings):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.accept_all"
    photo = add_photo(student=students[0], data=image_bytes(), check_inline=True)
    assert photo.face_check == EnrolmentPhoto.FaceCheck.ACCEPTED and photo.embedding
    settings.PHOTO_FACE_CHECKER = f"{__name__}.reject_all"
    report = import_photos(uploads=[("S002.jpg", image_bytes())], check_inline=True)
    assert outcomes(report)["S002.jpg"] == (
        False, "S002: rejected: 2 faces found; the photo must show one"
    )  # fmt: skip


def test_a_crashing_check_rejects_the_photo_and_a_new_upload_checks_again(students, settings):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.explode"
    data = image_bytes()
    photo = add_photo(student=students[0], data=data)
    check_enrolment_photo(photo.pk)
    photo.refresh_from_db()
    assert (
        photo.status_text
        == "rejected: the face check failed (RuntimeError); upload the photo again"
    )
    settings.PHOTO_FACE_CHECKER = f"{__name__}.accept_all"
    again = add_photo(student=students[0], data=data)
    assert again is not None and again.face_check == EnrolmentPhoto.FaceCheck.PENDING
    check_enrolment_photo(again.pk)
    assert EnrolmentPhoto.objects.get().face_check == EnrolmentPhoto.FaceCheck.ACCEPTED


def test_a_photo_deleted_before_its_check_is_left_alone(students):
    photo = add_photo(student=students[0], data=image_bytes())
    photo.delete()
    check_enrolment_photo(photo.pk)  # no error, nothing stored
    assert EnrolmentPhoto.objects.count() == 0


def test_deleting_a_student_removes_photo_files(students, django_capture_on_commit_callbacks):
    import_photos(uploads=[("S001.jpg", image_bytes()), ("S001_2.png", image_bytes("PNG"))])
    paths = [Path(p.image.path) for p in EnrolmentPhoto.objects.all()]
    assert all(path.is_file() for path in paths)
    with django_capture_on_commit_callbacks(execute=True):
        Student.objects.get(student_number="S001").delete()
    assert not any(path.exists() for path in paths)
    assert EnrolmentPhoto.objects.count() == 0


def test_admin_upload_page_reports_per_file(client, exam_admin, students):
    client.force_login(exam_admin)
    files = [
        SimpleUploadedFile("S001.jpg", image_bytes(), content_type="image/jpeg"),
        SimpleUploadedFile("S404.jpg", image_bytes(), content_type="image/jpeg"),
    ]
    response = client.post(reverse("admin:students_student_upload_photos"), {"files": files})
    page = response.content.decode()
    assert response.status_code == 200
    assert "1</strong> succeeded" in page and "no student with the number" in page
    photo = EnrolmentPhoto.objects.get()
    assert f'data-photo-id="{photo.pk}" data-photo-status="pending">checking…' in page
    assert "being checked on a worker" in page
    status_url = reverse("admin:students_student_photo_status")
    assert client.get(status_url, {"ids": str(photo.pk)}).json() == {
        str(photo.pk): {"status": "pending", "label": "Checking…", "text": "checking…"}
    }
    # The student's page says so too, and updates itself; once checked, it shows the verdict.
    change = reverse("admin:students_student_change", args=[photo.student_id])
    page = client.get(change).content.decode()
    assert "Checking the faces in the new photos" in page and status_url in page
    check_enrolment_photo(photo.pk)
    page = client.get(change).content.decode()
    assert "Checking the faces" not in page and "not checked (no face checker" in page
    assert client.get(status_url, {"ids": str(photo.pk)}).json()[str(photo.pk)]["status"] == (
        "not_checked"
    )


def test_photos_are_served_only_to_staff_who_may_see_the_student(
    client, exam_admin, invigilator, other_invigilator, sessions
):
    import_photos(uploads=[("S001.jpg", image_bytes())])  # S001 sits the first exam only
    url = reverse("students:photo", args=[EnrolmentPhoto.objects.get().pk])
    client.force_login(other_invigilator)
    assert client.get(url).status_code == 404
    for user in (invigilator, exam_admin):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert response["Cache-Control"] == "private, no-store"
    client.logout()
    assert client.get(url).status_code == 403


def test_api_upload(api_as, exam_admin, students):
    files = [SimpleUploadedFile("photos.zip", zip_bytes({"S003.jpg": image_bytes()}))]
    response = api_as(exam_admin).post(
        reverse("student-upload-photos"), {"files": files}, format="multipart"
    )
    assert response.status_code == 200
    photo = EnrolmentPhoto.objects.get()
    assert response.json()["pending"] == 1
    assert response.json()["outcomes"] == [
        {"source": "photos.zip/S003.jpg", "ok": True,
         "message": "added to S003; checking the face…",
         "photo": {"id": photo.pk, "student": students[2].pk, "status": "pending"}}
    ]  # fmt: skip


def test_api_single_photo_upload_is_accepted_pending_and_read_later(
    api_as, exam_admin, students, settings
):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.reject_all"
    client = api_as(exam_admin)
    url = reverse("student-photos", args=[students[0].pk])
    upload = SimpleUploadedFile("me.jpg", image_bytes(), content_type="image/jpeg")
    response = client.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["status_text"] == "checking…"
    assert body["source"] == "upload" and body["confirmed"] is True
    assert response["Location"].endswith(f"{url}{body['id']}/")
    check_enrolment_photo(body["id"])
    later = client.get(response["Location"]).json()
    assert later["status"] == "rejected"
    assert later["reason"] == "2 faces found; the photo must show one"
    assert (
        client.get(reverse("student-detail", args=[students[0].pk])).json()["photos"][0]["status"]
        == "rejected"
    )
    # A file that is no image: a 400 at once, nothing stored or queued.
    bad = SimpleUploadedFile("me.jpg", b"not an image at all", content_type="image/jpeg")
    response = client.post(url, {"file": bad}, format="multipart")
    assert response.status_code == 400 and "not an image" in response.json()["detail"]
    assert EnrolmentPhoto.objects.count() == 1


def test_importing_the_students_app_never_loads_the_face_models():
    """The web process queues face checks; only a worker imports the models."""
    code = (
        "import os, sys, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'invigilation.settings')\n"
        "django.setup()\n"
        "import invigilation.students.admin, invigilation.students.api\n"
        "import invigilation.students.services, invigilation.students.tasks\n"
        "import invigilation.students.views, invigilation.students.serializers\n"
        "heavy = ('torch', 'dlib', 'cv2', 'invigilation.vision')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (4, 4)).save(buffer, "GIF")
    return buffer.getvalue()


def test_the_schema_documents_the_pending_photo(client):
    schema = client.get(reverse("schema") + "?format=json").json()
    upload = schema["paths"]["/api/students/{id}/photos/"]["post"]
    assert set(upload["responses"]) >= {"202", "200", "400"}
    assert '`status` is "pending"' in upload["responses"]["202"]["description"]
    photo = schema["components"]["schemas"]["EnrolmentPhoto"]["properties"]
    assert {"status", "reason", "status_text", "confirmed", "source"} <= set(photo)
    assert "/api/students/{id}/photos/{photo_id}/" in schema["paths"]
    session = schema["components"]["schemas"]["ExamSession"]["properties"]
    assert "reference" in session
