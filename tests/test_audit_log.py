"""The audit log: who viewed or exported which student's data, append-only."""

import pytest
from django.urls import reverse
from helpers import jpeg

from invigilation.audit.models import AccessEvent
from invigilation.proctoring.services import raise_flag
from invigilation.students.services import add_photo

pytestmark = pytest.mark.django_db


def events() -> list[tuple]:
    return [
        (e.username, e.action, e.what, e.exam_id, e.student_number, e.detail, e.ip)
        for e in AccessEvent.objects.order_by("pk")
    ]


@pytest.mark.parametrize(
    "name, action, what",
    [
        ("reports:exam", "viewed", "exam_report"),
        ("reports:review", "viewed", "review_queue"),
        ("reports:flags-csv", "exported", "flags_csv"),
        ("reports:attendance-csv", "exported", "attendance_csv"),
        ("reports:pdf", "exported", "report_pdf"),
    ],
)
def test_report_pages_and_exports_are_logged(client, invigilator, exam, sessions, name, action,
                                             what):  # fmt: skip
    client.force_login(invigilator)
    assert client.get(reverse(name, args=[exam.pk])).status_code == 200
    assert events() == [("invig", action, what, exam.pk, "", "", "127.0.0.1")]


def test_a_students_timeline_snapshot_photo_and_record_are_logged(
    client, api_as, invigilator, exam, sessions, settings
):
    settings.PHOTO_FACE_CHECKER = "none"
    session = sessions["S001"]
    photo = add_photo(student=session.student, data=jpeg())
    flag = raise_flag(session=session, kind="no_face", snapshot=jpeg())
    client.force_login(invigilator)
    assert client.get(reverse("reports:timeline", args=[exam.pk, session.pk])).status_code == 200
    assert client.get(reverse("students:photo", args=[photo.pk])).status_code == 200
    api = api_as(invigilator)
    assert api.get(reverse("flag-snapshot", args=[flag.pk])).status_code == 200
    assert api.get(reverse("student-detail", args=[session.student.pk])).status_code == 200
    assert api.get(reverse("exam-report", args=[exam.pk])).status_code == 200
    assert events() == [
        ("invig", "viewed", "timeline", exam.pk, "S001", "", "127.0.0.1"),
        ("invig", "viewed", "enrolment_photo", None, "S001", f"photo {photo.pk}", "127.0.0.1"),
        ("invig", "viewed", "flag_snapshot", exam.pk, "S001", f"flag {flag.pk}", "127.0.0.1"),
        ("invig", "viewed", "student_record", None, "S001", "", "127.0.0.1"),
        ("invig", "viewed", "exam_report_api", exam.pk, "", "", "127.0.0.1"),
    ]
    assert AccessEvent.objects.filter(student=session.student).count() == 4


def test_the_live_dashboard_and_the_flags_api_are_logged(client, api_as, invigilator, exam,
                                                        other_exam, sessions):  # fmt: skip
    flag = raise_flag(session=sessions["S001"], kind="no_face")
    client.force_login(invigilator)
    assert client.get(reverse("dashboard:exam", args=[exam.pk])).status_code == 200
    api = api_as(invigilator)
    assert api.get(reverse("flag-list"), {"exam": exam.pk, "after_id": 0}).json()["count"] == 1
    assert api.get(reverse("flag-list"), {"exam": other_exam.pk}).json()["count"] == 0
    assert api.get(reverse("flag-list"), {"exam": "x" * 30}).status_code == 400
    assert api.get(reverse("flag-detail", args=[flag.pk])).status_code == 200
    assert events() == [
        ("invig", "viewed", "live_dashboard", exam.pk, "", "", "127.0.0.1"),
        ("invig", "viewed", "flags_api", exam.pk, "", f"exam={exam.pk}&after_id=0", "127.0.0.1"),
        # Another exam's id names no exam: the invigilator saw nothing of it.
        ("invig", "viewed", "flags_api", None, "", f"exam={other_exam.pk}", "127.0.0.1"),
        ("invig", "viewed", "flags_api", exam.pk, "S001", f"flag {flag.pk}", "127.0.0.1"),
    ]


def test_refused_requests_are_not_logged_as_access(client, api_as, invigilator, sessions,
                                                   other_exam):  # fmt: skip
    client.force_login(invigilator)
    assert client.get(reverse("reports:exam", args=[other_exam.pk])).status_code == 404
    student = sessions["S003"].student  # sits the other exam
    assert api_as(invigilator).get(reverse("student-detail", args=[student.pk])).status_code == 404
    assert not AccessEvent.objects.exists()


def test_behind_a_tls_proxy_the_address_it_appended_is_logged(client, invigilator, exam,
                                                              settings):  # fmt: skip
    settings.BEHIND_TLS_PROXY = True
    client.force_login(invigilator)
    client.get(reverse("reports:exam", args=[exam.pk]),
               headers={"x-forwarded-for": "10.9.9.9, 203.0.113.7"})  # fmt: skip
    assert AccessEvent.objects.get().ip == "203.0.113.7"


@pytest.fixture
def logged(client, invigilator, exam, sessions) -> AccessEvent:
    client.force_login(invigilator)
    client.get(reverse("reports:exam", args=[exam.pk]))
    client.get(reverse("reports:timeline", args=[exam.pk, sessions["S002"].pk]))
    client.logout()
    return AccessEvent.objects.get(what="timeline")


def test_events_are_never_changed(logged):
    logged.detail = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        logged.save()


def test_exam_admins_read_the_log_in_the_admin_but_cannot_change_it(client, exam_admin, logged):
    client.force_login(exam_admin)
    changelist = reverse("admin:audit_accessevent_changelist")
    response = client.get(changelist, {"student__id__exact": logged.student_id})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [logged]
    assert client.get(changelist, {"q": "S002"}).context["cl"].result_count == 1
    assert client.get(changelist, {"action__exact": "viewed"}).context["cl"].result_count == 2
    change = reverse("admin:audit_accessevent_change", args=[logged.pk])
    assert client.get(change).status_code == 200  # shown read-only
    assert client.post(change, {"detail": "tampered"}).status_code == 403
    assert client.get(reverse("admin:audit_accessevent_add")).status_code == 403
    assert (
        client.post(reverse("admin:audit_accessevent_delete", args=[logged.pk])).status_code == 403
    )
    logged.refresh_from_db()
    assert logged.detail == ""


def test_exam_admins_read_the_log_over_the_api(api_as, exam_admin, invigilator, logged):
    client = api_as(exam_admin)
    rows = client.get(reverse("access-event-list"), {"student_number": "s002"}).json()["results"]
    assert [(r["username"], r["what"], r["student_number"]) for r in rows] == [
        ("invig", "timeline", "S002")
    ]
    assert client.get(reverse("access-event-list"), {"user": invigilator.pk}).json()["count"] == 2
    assert client.get(reverse("access-event-list"), {"what": "nonsense"}).status_code == 400
    assert client.post(reverse("access-event-list"), {}).status_code == 405
    assert api_as(invigilator).get(reverse("access-event-list")).status_code == 403
    assert api_as().get(reverse("access-event-list")).status_code in (401, 403)
