import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_require_login(client, exam):
    for url in [reverse("dashboard:home"), reverse("dashboard:exam", args=[exam.pk])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_page_logs_in(client, invigilator):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "invig", "password": "pw-invig-123"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")


def test_invigilator_home_lists_only_assigned_exams(client, invigilator, exam, other_exam):
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:home")).content.decode()
    assert "My exams" in page and exam.title in page and other_exam.title not in page


def test_admin_home_lists_every_exam_with_counts(client, exam_admin, sessions, exam, other_exam):
    client.force_login(exam_admin)
    response = client.get(reverse("dashboard:home"))
    listed = {e.title: e.student_count for e in response.context["exams"]}
    assert listed == {exam.title: 2, other_exam.title: 1}


def test_exam_page_lists_students_and_hides_other_exams(client, invigilator, sessions, other_exam):
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:exam", args=[sessions["S001"].exam_id])).content.decode()
    assert "Ada Lovelace" in page and "Alan Turing" in page and "Grace Hopper" not in page
    assert client.get(reverse("dashboard:exam", args=[other_exam.pk])).status_code == 404


def test_healthz_reports_database_and_redis(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}


def test_healthz_says_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["redis"] == "down"
