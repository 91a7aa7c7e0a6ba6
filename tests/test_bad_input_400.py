"""Input that used to raise a 500 (DataError, RecursionError, BadHeaderError) answers 400,
or is made harmless where it cannot be refused."""

import json
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from invigilation.core.api import MAX_JSON_DEPTH, json_depth
from invigilation.core.downloads import content_disposition
from invigilation.exams.models import Exam
from invigilation.proctoring.services import raise_flag

pytestmark = pytest.mark.django_db

DATE_FILTERS = [("flag-list", "raised_after"), ("exam-list", "starts_after"),
                ("exam-list", "starts_before"), ("access-event-list", "after"),
                ("access-event-list", "before")]  # fmt: skip


@pytest.mark.parametrize("name, param", DATE_FILTERS)
@pytest.mark.parametrize(
    "value, message",
    [
        # PostgreSQL refuses offsets from 16 hours up (DataError).
        ("2026-01-01T00:00:00-19:28", "UTC offset must lie between -14:00 and +14:00"),
        ("2026-01-01T00:00:00+16:00", "UTC offset must lie between -14:00 and +14:00"),
        # In UTC these fall outside the years Python can hold (OverflowError).
        ("9999-12-31T23:59:59-10:00", "out of range"),
        ("0001-01-01T00:00:00+10:00", "out of range"),
    ],
)
def test_date_filters_refuse_offsets_and_dates_no_database_can_use(
    api_as, exam_admin, name, param, value, message
):
    response = api_as(exam_admin).get(reverse(name), {param: value})
    assert response.status_code == 400, response.content
    assert message in response.json()[param][0]


def test_date_filters_still_read_real_offsets(api_as, exam_admin, exam):
    # 05:30 east of UTC is five and a half hours earlier in UTC.
    starts = timezone.localtime(exam.starts_at, timezone.get_fixed_timezone(330))
    client = api_as(exam_admin)
    found = client.get(reverse("exam-list"), {"starts_after": starts.isoformat()})
    assert [row["id"] for row in found.json()["results"]] == [exam.pk]
    later = (starts + timedelta(seconds=1)).isoformat()
    assert client.get(reverse("exam-list"), {"starts_after": later}).json()["results"] == []


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_deeply_nested_json_is_refused_before_logging_in(exam_admin):
    body = nested(100_000)  # 200 KB: Python's json parser would run out of stack
    response = APIClient().post(reverse("api-token"), body, content_type="application/json")
    assert response.status_code == 400
    assert f"nested more than {MAX_JSON_DEPTH} levels" in response.json()["detail"]


def test_deeply_nested_json_is_refused_on_every_json_endpoint(api_as, exam_admin, exam):
    response = api_as(exam_admin).patch(
        reverse("exam-detail", args=[exam.pk]), nested(5000), content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_json_within_the_limit_and_forms_are_read_as_before(exam_admin):
    client, url = APIClient(), reverse("api-token")
    login = {"username": "examadmin", "password": "pw-admin-123"}
    assert "token" in client.post(url, login, format="json").json()
    assert "token" in client.post(url, login).json()  # multipart
    deep = {"username": "examadmin", "password": "pw-admin-123", "x": json.loads(nested(30))}
    assert "token" in client.post(url, deep, format="json").json()


def test_brackets_inside_strings_are_not_nesting():
    assert json_depth(b'{"a": "[[[[{{{{", "b": ["\\"[[["]}') == 2
    assert json_depth(nested(40)) == 40
    # An unclosed string of escaped quotes is scanned once, not once per quote.
    assert json_depth(b'["' + b'\\"[' * 200_000) == 1


# A course code is written into the export's file name, and so into a header.
ODD_COURSES = ["CS\n101", 'CS101"; filename="evil.exe', "CS\r\nSet-Cookie: a=b", "Ökonomie 1"]


@pytest.mark.parametrize("course", ODD_COURSES)
@pytest.mark.parametrize("export", ["reports:attendance-csv", "reports:flags-csv", "reports:pdf"])
def test_exports_of_any_course_code_answer_with_one_safe_file_name(
    client, exam_admin, exam, sessions, course, export
):
    Exam.objects.filter(pk=exam.pk).update(course=course)
    raise_flag(session=sessions["S001"], kind="no_face", message="nobody")
    client.force_login(exam_admin)
    response = client.get(reverse(export, args=[exam.pk]))
    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert header.count("filename=") == 1 and header.count("filename*=") == 1
    assert not any(char in header for char in "\r\n\0")
    fallback = header.split('filename="')[1].split('"')[0]
    assert all(char.isascii() and (char.isalnum() or char in "._-") for char in fallback)
    exact = unquote(header.split("filename*=UTF-8''")[1])
    assert exact.startswith(course.replace("\r", "").replace("\n", ""))


def test_content_disposition_keeps_the_exact_name_for_browsers_that_read_it():
    header = content_disposition('Ökonomie "1".csv')
    assert header == (
        "attachment; filename=\"_konomie__1_.csv\"; filename*=UTF-8''%C3%96konomie%20%221%22.csv"
    )


@pytest.mark.parametrize("field", ["course", "title"])
def test_line_breaks_in_an_exams_title_or_course_are_refused_at_input(api_as, exam_admin, field):
    now = timezone.now()
    exam = {"title": "Algorithms", "course": "CS101", "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(), field: 'CS1\n01"x'}  # fmt: skip
    response = api_as(exam_admin).post("/api/exams/", exam, format="json")
    assert response.status_code == 400
    assert "No line breaks" in response.json()[field][0]
    assert not Exam.objects.exists()


def test_the_personal_data_zip_has_a_safe_file_name(api_as, exam_admin, students):
    response = api_as(exam_admin).get(f"/api/students/{students[0].pk}/personal-data/")
    assert response["Content-Disposition"] == content_disposition("personal-data-S001.zip")
