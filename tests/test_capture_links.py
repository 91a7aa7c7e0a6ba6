"""Exam admins export every student's capture link as CSV: absolute links on SITE_URL,
formula-safe cells, audited, and for exam admins only."""

import csv
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from invigilation.audit.models import AccessEvent
from invigilation.core.downloads import content_disposition, csv_cell

pytestmark = pytest.mark.django_db

SITE = "https://exams.example.edu"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def export(client, *exams):
    body = {"action": "export_capture_links", ACTION_CHECKBOX_NAME: [e.pk for e in exams]}
    return client.post(reverse("admin:exams_exam_changelist"), body)


def test_the_admin_action_exports_one_absolute_link_per_student(client, exam_admin, exam, sessions):
    sessions["S001"].student.email = "ada@uni.edu"
    sessions["S001"].student.save()
    client.force_login(exam_admin)
    response = export(client, exam)
    assert response["Content-Disposition"] == content_disposition(
        f"CS101-{exam.pk}-capture-links.csv"
    )
    assert [list(row) for row in rows(response)][0] == [
        "student_number", "full_name", "email", "exam", "starts_at", "capture_url"
    ]  # fmt: skip
    by_number = {row["student_number"]: row for row in rows(response)}
    assert set(by_number) == {"S001", "S002"}  # S003 sits the other exam
    ada = by_number["S001"]
    assert (ada["full_name"], ada["email"], ada["exam"]) == ("Ada Lovelace", "ada@uni.edu",
                                                             "CS101 Algorithms")  # fmt: skip
    assert ada["capture_url"] == f"{SITE}/capture/{sessions['S001'].token}/"
    assert ada["starts_at"].startswith(exam.starts_at.strftime("%Y-%m-%dT"))
    event = AccessEvent.objects.get()
    assert (event.action, event.what, event.exam, event.username) == (
        "exported", "capture_links", exam, "examadmin"
    )  # fmt: skip


def test_the_exam_page_has_a_download_button(client, exam_admin, exam, sessions):
    client.force_login(exam_admin)
    url = reverse("admin:exams_exam_capture_links", args=[exam.pk])
    page = client.get(reverse("admin:exams_exam_change", args=[exam.pk])).content.decode()
    assert url in page
    response = client.get(url)
    assert len(rows(response)) == 2
    assert "no-store" in response["Cache-Control"]  # every link opens an exam
    assert AccessEvent.objects.get().what == "capture_links"


def test_several_exams_export_into_one_file_with_an_event_each(
    client, exam_admin, exam, other_exam, sessions
):
    client.force_login(exam_admin)
    exported = rows(export(client, exam, other_exam))
    assert sorted(row["student_number"] for row in exported) == ["S001", "S002", "S003"]
    assert AccessEvent.objects.filter(what="capture_links").count() == 2


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(
    client, exam_admin, exam, sessions, start
):
    student = sessions["S001"].student
    student.full_name = f'{start}HYPERLINK("http://evil.example","click")'
    student.save()
    client.force_login(exam_admin)
    ada = next(row for row in rows(export(client, exam)) if row["student_number"] == "S001")
    assert ada["full_name"] == "'" + student.full_name
    assert csv_cell("Ada = Lovelace") == "Ada = Lovelace"  # only a leading one matters


def test_only_exam_admins_get_the_links(client, invigilator, exam, sessions):
    url = reverse("admin:exams_exam_capture_links", args=[exam.pk])
    # Staff who may edit exams but are not exam admins: no action, no download.
    editor = User.objects.create_user("editor", password="pw-editor-123", is_staff=True)
    may_edit = Permission.objects.filter(codename__in=["view_exam", "change_exam"])
    editor.user_permissions.add(*may_edit)
    client.force_login(editor)
    changelist = client.get(reverse("admin:exams_exam_changelist")).content.decode()
    assert "export_capture_links" not in changelist
    assert "email_capture_links" not in changelist
    assert client.get(url).status_code == 403
    assert "content-disposition" not in export(client, exam).headers
    # Invigilators are not staff: sent to the admin log-in.
    client.force_login(invigilator)
    assert client.get(url).status_code == 302
    assert not AccessEvent.objects.exists()
