import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from invigilation.students.face_check import FaceCheckResult
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.services import import_photos

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
    assert photo.face_check == EnrolmentPhoto.FaceCheck.NOT_CHECKED
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
        "photos.zip/S001.jpg": (True, "added to S001"),
        "photos.zip/S002.jpg": (True, "added to S002"),
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


def test_face_check_hook_can_reject_photos(students, settings):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.reject_all"
    report = import_photos(uploads=[("S001.jpg", image_bytes())])
    assert outcomes(report)["S001.jpg"] == (False, "2 faces found; the photo must show one")
    assert EnrolmentPhoto.objects.count() == 0


def test_face_check_hook_stores_the_embedding(students, settings):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.accept_all"
    import_photos(uploads=[("S001.jpg", image_bytes())])
    photo = EnrolmentPhoto.objects.get()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.ACCEPTED
    assert bytes(photo.embedding) == b"\x00" * 512


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
    assert response.json()["outcomes"] == [
        {"source": "photos.zip/S003.jpg", "ok": True, "message": "added to S003"}
    ]


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (4, 4)).save(buffer, "GIF")
    return buffer.getvalue()
