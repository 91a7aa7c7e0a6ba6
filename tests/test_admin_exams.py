from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from invigilation.accounts.roles import INVIGILATOR_GROUP
from invigilation.exams.models import Exam
from invigilation.exams.selectors import exams_visible_to

pytestmark = pytest.mark.django_db


def exam_form(user: User, students, **overrides) -> dict:
    start = timezone.localtime() + timedelta(days=1)
    end = start + timedelta(hours=2)
    form = {
        "title": "Compilers", "course": "CS330",
        "starts_at_0": start.strftime("%Y-%m-%d"), "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"), "ends_at_1": end.strftime("%H:%M:%S"),
        "mode": "online", "room": "", "sampling_fps": "1.0", "retention_days": "30",
        "check_identity": "on", "check_presence": "on",
        "assignments-TOTAL_FORMS": "1", "assignments-INITIAL_FORMS": "0",
        "assignments-0-user": str(user.pk),
        "sessions-TOTAL_FORMS": str(len(students)), "sessions-INITIAL_FORMS": "0",
        "cameras-TOTAL_FORMS": "1", "cameras-INITIAL_FORMS": "0",
        "cameras-0-name": "Back wall", "cameras-0-position": "rows A-E",
        "cameras-0-frames_per_second": "0.5", "cameras-0-active": "on",
    }  # fmt: skip
    for index, student in enumerate(students):
        form[f"sessions-{index}-student"] = str(student.pk)
    return {**form, **overrides}


def test_admin_creates_an_exam_assigns_an_invigilator_and_enrols_students(
    client, exam_admin, students
):
    newcomer = User.objects.create_user("newcomer", password="pw-new-12345")
    client.force_login(exam_admin)
    response = client.post(reverse("admin:exams_exam_add"), exam_form(newcomer, students[:2]))
    assert response.status_code == 302, response.context["errors"]
    exam = Exam.objects.get(title="Compilers")
    assert newcomer.groups.filter(name=INVIGILATOR_GROUP).exists()
    assert list(exams_visible_to(user=User.objects.get(pk=newcomer.pk))) == [exam]
    assert exam.sessions.count() == 2
    assert list(exam.cameras.values_list("name", "position")) == [("Back wall", "rows A-E")]


def test_admin_form_explains_impossible_times_and_rooms(client, exam_admin, students):
    client.force_login(exam_admin)
    form = exam_form(exam_admin, [], mode="room", ends_at_0="2000-01-01")
    response = client.post(reverse("admin:exams_exam_add"), form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The exam must end after it starts." in page
    assert "An exam held in a room needs the room" in page
    assert not Exam.objects.filter(title="Compilers").exists()
