"""A flag on the exam alone (a stranger in the hall, a candidate not enrolled at the kiosk):
listed, reviewed, exported and purged like a student's."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from invigilation.proctoring.models import Flag
from invigilation.proctoring.services import raise_flag
from invigilation.retention.services import purge_expired_data
from tests.helpers import jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def room_flag(exam, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return raise_flag(
            exam=exam, kind=Flag.Kind.UNKNOWN_PERSON, severity=Flag.Severity.HIGH,
            message="Someone not checked in has been seen 3 times",
            evidence={"camera": {"id": 1, "name": "Front"}, "box": [10, 10, 60, 60]},
            snapshot=jpeg(), thumbnail=jpeg(size=(320, 180)),
        )  # fmt: skip


def test_a_flag_needs_a_session_or_an_exam():
    with pytest.raises(ValueError, match="session or to an exam"):
        raise_flag(kind=Flag.Kind.UNKNOWN_PERSON)


def test_a_student_flag_takes_its_exam_from_the_session(sessions, exam):
    flag = raise_flag(session=sessions["S001"], kind=Flag.Kind.NO_FACE)
    assert flag.exam_id == exam.pk and flag.student == sessions["S001"].student


def test_the_api_lists_it_for_the_exam_with_no_student(api_as, invigilator, exam, room_flag):
    body = api_as(invigilator).get(reverse("flag-list"), {"exam": exam.pk}).json()
    listed = next(f for f in body["results"] if f["id"] == room_flag.pk)
    assert listed["session"] is None and listed["student_number"] is None
    assert listed["exam"] == exam.pk and listed["has_thumbnail"] and listed["has_snapshot"]
    assert listed["kind_label"] == "Unknown person in the room"


def test_its_whole_frame_is_served_to_the_exams_staff_only(
    api_as, invigilator, other_invigilator, room_flag
):
    url = reverse("flag-thumbnail", args=[room_flag.pk])
    response = api_as(invigilator).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert api_as(other_invigilator).get(url).status_code == 404


def test_it_is_reviewed_like_any_flag(api_as, invigilator, room_flag):
    url = reverse("flag-review", args=[room_flag.pk])
    response = api_as(invigilator).post(url, {"state": "confirmed", "note": "Not a candidate"})
    assert response.status_code == 200 and response.json()["review_state"] == "confirmed"


def test_the_flags_export_names_the_room(client, invigilator, exam, room_flag):
    client.force_login(invigilator)
    response = client.get(reverse("reports:flags-csv", args=[exam.pk]))
    text = response.content.decode()
    assert response.status_code == 200 and "(the room)" in text and "unknown_person" in text


def test_the_dashboard_and_review_queue_show_it(client, invigilator, exam, room_flag):
    client.force_login(invigilator)
    assert client.get(reverse("dashboard:exam", args=[exam.pk])).status_code == 200
    page = client.get(reverse("reports:review", args=[exam.pk]))
    assert page.status_code == 200 and "the room" in page.content.decode()


def test_the_purge_removes_its_pictures(exam, room_flag, django_capture_on_commit_callbacks):
    names = [room_flag.snapshot.name, room_flag.thumbnail.name]
    assert all(default_storage.exists(name) for name in names)
    later = exam.retained_until + timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        report = purge_expired_data(now=later)
    assert report.flags == 1 and report.snapshots == 2
    assert not any(default_storage.exists(name) for name in names)
