import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from invigilation.students.imports import UploadRejected
from invigilation.students.models import Student
from invigilation.students.services import import_students_csv

pytestmark = pytest.mark.django_db


def test_creates_students_from_a_plain_csv():
    data = b"student_number,full_name,email\nS1,Ada Lovelace,ada@uni.edu\nS2,Alan Turing,\n"
    report = import_students_csv(data=data)
    assert report.succeeded == 2 and report.failed_count == 0
    assert Student.objects.get(student_number="S1").email == "ada@uni.edu"


def test_accepts_excel_style_files_with_bom_semicolons_and_aliases():
    data = "\ufeffStudent No;Name;E-mail\r\nS9;Émilie du Châtelet;emilie@uni.edu\r\n".encode()
    report = import_students_csv(data=data)
    assert report.succeeded == 1
    assert Student.objects.get(student_number="S9").full_name == "Émilie du Châtelet"


def test_updates_existing_students_without_erasing_with_blank_cells(students):
    students[0].email = "kept@uni.edu"
    students[0].save()
    report = import_students_csv(data=b"student_number,full_name,email\ns001,Ada King,\n")
    assert report.outcomes[0].message.startswith("updated")
    ada = Student.objects.get(pk=students[0].pk)
    assert (ada.full_name, ada.email) == ("Ada King", "kept@uni.edu")


def test_bad_rows_are_reported_by_line_and_good_rows_still_land(students):
    data = (
        b"student_number,full_name,email\n"
        b"S10,Good Row,good@uni.edu\n"
        b"S11,Bad Email,not-an-email\n"
        b"S 12,Bad Number,\n"
        b",No Number,\n"
        b"S10,Twice,\n"
        b"S001,,\n"
    )
    report = import_students_csv(data=data)
    failed = {o.source: o.message for o in report.failed}
    assert set(failed) == {"line 3", "line 4", "line 5", "line 6"}
    assert "email" in failed["line 3"]
    assert "letters and digits" in failed["line 4"]
    assert "twice" in failed["line 6"]
    assert Student.objects.filter(student_number="S10", full_name="Good Row").exists()
    # A row with only the number leaves the stored student exactly as it was.
    assert Student.objects.get(student_number="S001").full_name == "Ada Lovelace"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"number_of_things,colour\n1,red\n", "lacks the column"),
        (b"student_number,full_name\n", "no student rows"),
        ("student_number,full_name\nS1,Zo\xeb\n".encode("latin-1"), "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        (b"student_number,full_name\nS1,A\x00B\n", "binary"),
    ],
)
def test_unusable_files_are_rejected_whole_with_a_reason(students, data, message):
    with pytest.raises(UploadRejected, match=message):
        import_students_csv(data=data)
    assert Student.objects.count() == 3


def test_oversized_csv_is_refused(settings):
    settings.CSV_IMPORT_MAX_BYTES = 100
    with pytest.raises(UploadRejected, match="limit"):
        import_students_csv(data=b"student_number,full_name\n" + b"S1,x\n" * 50)


def test_admin_import_page_shows_a_report_and_enrols_in_the_chosen_exam(client, exam_admin, exam):
    client.force_login(exam_admin)
    upload = _file("students.csv", b"student_number,full_name\nS77,Lin\nS78,\n")
    response = client.post(
        reverse("admin:students_student_import_csv"), {"file": upload, "exam": exam.pk}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "1</strong> succeeded" in page and "line 3" in page
    assert list(exam.sessions.values_list("student__student_number", flat=True)) == ["S77"]


def test_admin_import_page_explains_a_rejected_file(client, exam_admin):
    client.force_login(exam_admin)
    response = client.post(
        reverse("admin:students_student_import_csv"), {"file": _file("x.csv", b"a,b\n1,2\n")}
    )
    assert response.status_code == 200
    assert "lacks the column" in response.content.decode()


def test_invigilators_cannot_open_the_import_page(client, invigilator):
    client.force_login(invigilator)
    response = client.get(reverse("admin:students_student_import_csv"))
    assert response.status_code == 302  # not staff: sent to the admin login


def test_api_import(api_as, exam_admin, invigilator):
    url = reverse("student-import-csv")
    body = {"file": _file("s.csv", b"student_number,full_name\nS5,Kay\n")}
    assert api_as(invigilator).post(url, body, format="multipart").status_code == 403
    response = api_as(exam_admin).post(
        url, {"file": _file("s.csv", b"student_number,full_name\nS5,Kay\n")}, format="multipart"
    )
    assert response.status_code == 200
    assert response.json()["succeeded"] == 1
    bad = api_as(exam_admin).post(url, {"file": _file("s.csv", b"")}, format="multipart")
    assert bad.status_code == 400


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")
