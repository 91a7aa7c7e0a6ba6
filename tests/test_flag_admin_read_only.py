"""Flags are evidence the system raised: the admin shows them, with their review trail, and
lets nobody add, change or delete one on its own."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.urls import reverse

from invigilation.proctoring.models import Flag
from invigilation.proctoring.services import raise_flag, review_flag

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed_flag(sessions, invigilator) -> Flag:
    flag = raise_flag(session=sessions["S001"], kind="no_face", message="No face for 12 s")
    review_flag(flag=flag, reviewer=invigilator, state="escalated", note="Left the room twice")
    review_flag(flag=flag, reviewer=invigilator, state="confirmed", note="Seen on the recording")
    return Flag.objects.get(pk=flag.pk)


@pytest.fixture(params=["exam admin", "superuser"])
def staff(request, exam_admin) -> User:
    if request.param == "exam admin":
        return exam_admin
    return User.objects.create_superuser("root", password="pw-root-12345")


def flag_state(flag: Flag) -> tuple:
    flag = Flag.objects.get(pk=flag.pk)
    return flag.kind, flag.message, flag.review_state, flag.review_note, flag.reviews.count()


def test_nobody_adds_a_flag_by_hand(client, staff, sessions):
    client.force_login(staff)
    url = reverse("admin:proctoring_flag_add")
    assert client.get(url).status_code == 403
    form = {"session": sessions["S002"].pk, "kind": "no_face", "severity": 3,
            "confidence": 1.0, "raised_at_0": "2025-06-02", "raised_at_1": "09:00:00",
            "review_state": "open", "reviews-TOTAL_FORMS": 0,
            "reviews-INITIAL_FORMS": 0}  # fmt: skip
    assert client.post(url, form).status_code == 403
    assert not Flag.objects.exists()
    changelist = client.get(reverse("admin:proctoring_flag_changelist")).content.decode()
    assert reverse("admin:proctoring_flag_add") not in changelist


def test_the_flag_page_shows_the_flag_and_its_review_trail_read_only(client, staff, reviewed_flag):
    client.force_login(staff)
    url = reverse("admin:proctoring_flag_change", args=[reviewed_flag.pk])
    page = client.get(url).content.decode()
    assert "No face for 12 s" in page
    assert "Left the room twice" in page and "Seen on the recording" in page  # the trail
    assert 'name="_save"' not in page and 'name="message"' not in page and "deletelink" not in page
    before = flag_state(reviewed_flag)
    tampered = {"kind": "multiple_faces", "message": "edited", "review_state": "dismissed",
                "review_note": "edited", "reviews-TOTAL_FORMS": 0,
                "reviews-INITIAL_FORMS": 0}  # fmt: skip
    assert client.post(url, tampered).status_code == 403
    assert flag_state(reviewed_flag) == before


def test_a_flag_cannot_be_deleted_on_its_own(client, staff, reviewed_flag):
    client.force_login(staff)
    client.post(f"/admin/proctoring/flag/{reviewed_flag.pk}/delete/", {"post": "yes"})
    changelist = reverse("admin:proctoring_flag_changelist")
    bulk = {"action": "delete_selected", ACTION_CHECKBOX_NAME: [reviewed_flag.pk], "post": "yes"}
    client.post(changelist, bulk)
    assert Flag.objects.filter(pk=reviewed_flag.pk).exists()
    assert "delete_selected" not in client.get(changelist).content.decode()


def test_deleting_the_exam_still_takes_its_flags_along(client, exam_admin, exam, reviewed_flag):
    client.force_login(exam_admin)
    url = reverse("admin:exams_exam_delete", args=[exam.pk])
    confirm = client.get(url).content.decode()
    assert "permission to delete" not in confirm
    client.post(url, {"post": "yes"})
    assert not Flag.objects.exists()
