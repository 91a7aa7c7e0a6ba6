from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from invigilation.proctoring.services import raise_flag

pytestmark = pytest.mark.django_db


@pytest.fixture
def flags(sessions):
    return {
        number: raise_flag(session=session, kind="no_face", message=f"flag of {number}")
        for number, session in sessions.items()
    }


def ids(response) -> set:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_anonymous_requests_are_refused(api_as, exam):
    for name in ["exam-list", "student-list", "session-list", "flag-list"]:
        assert api_as().get(reverse(name)).status_code in (401, 403)


def test_exam_admins_see_every_exam(api_as, exam_admin, exam, other_exam):
    assert ids(api_as(exam_admin).get(reverse("exam-list"))) == {exam.pk, other_exam.pk}


def test_invigilators_see_only_their_exams(api_as, invigilator, exam, other_exam):
    client = api_as(invigilator)
    assert ids(client.get(reverse("exam-list"))) == {exam.pk}
    assert client.get(reverse("exam-detail", args=[other_exam.pk])).status_code == 404


def test_invigilators_see_only_their_exams_sessions_students_and_flags(
    api_as, invigilator, sessions, flags
):
    client = api_as(invigilator)
    mine = {sessions["S001"].pk, sessions["S002"].pk}
    assert ids(client.get(reverse("session-list"))) == mine
    assert client.get(reverse("session-detail", args=[sessions["S003"].pk])).status_code == 404
    numbers = {r["student_number"] for r in client.get(reverse("student-list")).json()["results"]}
    assert numbers == {"S001", "S002"}
    assert ids(client.get(reverse("flag-list"))) == {flags["S001"].pk, flags["S002"].pk}
    assert client.get(reverse("flag-detail", args=[flags["S003"].pk])).status_code == 404


def test_invigilators_cannot_write(api_as, invigilator, exam, sessions):
    client = api_as(invigilator)
    assert client.patch(reverse("exam-detail", args=[exam.pk]), {"title": "x"}).status_code == 403
    assert client.delete(reverse("session-detail", args=[sessions["S001"].pk])).status_code == 403
    body = {"student_number": "S9", "full_name": "New"}
    assert client.post(reverse("student-list"), body).status_code == 403


def test_capture_tokens_are_shown_to_admins_only(api_as, exam_admin, invigilator, sessions):
    url = reverse("session-detail", args=[sessions["S001"].pk])
    assert api_as(invigilator).get(url).json()["capture_token"] is None
    assert api_as(exam_admin).get(url).json()["capture_token"] == sessions["S001"].token


def test_admin_creates_an_exam_and_bad_times_are_refused(api_as, exam_admin):
    now = timezone.now()
    body = {
        "title": "Logic",
        "course": "MA1",
        "mode": "online",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }
    assert api_as(exam_admin).post(reverse("exam-list"), body).status_code == 201
    body["ends_at"] = (now - timedelta(hours=1)).isoformat()
    response = api_as(exam_admin).post(reverse("exam-list"), body)
    assert response.status_code == 400
    assert "end after it starts" in str(response.json())


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {token}")
    return client


def test_a_student_token_reads_its_own_session_only(sessions):
    session = sessions["S001"]
    client = token_client(session.token)
    body = client.get(reverse("student-session")).json()
    assert body["id"] == session.pk and body["student_number"] == "S001"
    assert "token" not in str(body) and "S002" not in str(body)
    for name in ["exam-list", "student-list", "session-list", "flag-list"]:
        assert client.get(reverse(name)).status_code in (401, 403), name
    other = reverse("session-detail", args=[sessions["S002"].pk])
    assert client.get(other).status_code in (401, 403)


def test_unknown_and_expired_student_tokens_are_refused(sessions, exam):
    assert token_client("nope").get(reverse("student-session")).status_code == 401
    exam.starts_at = timezone.now() - timedelta(hours=3)
    exam.ends_at = timezone.now() - timedelta(minutes=1)
    exam.save()
    response = token_client(sessions["S001"].token).get(reverse("student-session"))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_flags_can_be_caught_up_after_a_known_id(api_as, invigilator, sessions, exam):
    first = raise_flag(session=sessions["S001"], kind="no_face")
    later = raise_flag(session=sessions["S002"], kind="multiple_faces")
    url = reverse("flag-list") + f"?exam={exam.pk}&after_id={first.pk}"
    assert ids(api_as(invigilator).get(url)) == {later.pk}


def test_lists_are_paginated_and_filterable(api_as, exam_admin, make_exam):
    for index in range(55):
        make_exam(f"Exam {index}", course="BULK" if index % 2 else "OTHER")
    client = api_as(exam_admin)
    page = client.get(reverse("exam-list")).json()
    assert page["count"] == 55 and len(page["results"]) == 50 and page["next"]
    assert client.get(reverse("exam-list") + "?course=BULK").json()["count"] == 27


def test_exam_rule_thresholds_are_validated(api_as, exam_admin, exam):
    url = reverse("exam-detail", args=[exam.pk])
    client = api_as(exam_admin)
    ok = client.patch(url, {"rule_thresholds": {"no_face_seconds": 15}}, format="json")
    assert ok.status_code == 200 and ok.json()["rule_thresholds"] == {"no_face_seconds": 15}
    unknown = client.patch(url, {"rule_thresholds": {"bogus": 1}}, format="json")
    assert unknown.status_code == 400 and "Unknown threshold(s): bogus" in str(unknown.json())
    negative = client.patch(url, {"rule_thresholds": {"yaw_limit": -5}}, format="json")
    assert negative.status_code == 400 and "positive" in str(negative.json())
