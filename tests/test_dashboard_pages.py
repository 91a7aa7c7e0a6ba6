import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invigilation.core.clock import format_span
from invigilation.exams.models import Attendance, ExamSession
from invigilation.exams.services import assign_invigilator, check_in, enrol_students
from invigilation.proctoring.models import Flag, FrameRecord
from invigilation.proctoring.services import flag_event, raise_flag, review_flag
from invigilation.students.models import EnrolmentPhoto, Student

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


def reference_photo(student) -> EnrolmentPhoto:
    """An accepted photo (with a face embedding): what identity checks compare against."""
    return EnrolmentPhoto.objects.create(
        student=student, extension="jpg", image="x.jpg", sha256=f"{student.pk:064d}",
        embedding=b"\0" * 512,
    )  # fmt: skip


def card(page: str, session) -> str:
    found = re.search(rf'<article class="student[^"]*" data-session="{session.pk}".*?</article>',
                      page, re.S)  # fmt: skip
    return re.sub(r"\s+", " ", found.group())


def badges(page: str, session) -> tuple[str, str]:
    html = card(page, session)
    status = re.search(r"data-status>([^<]*)<", html).group(1)
    identity = re.search(r'class="badge identity[^"]*"( hidden)?>([^<]*)<', html)
    return status, "" if identity.group(1) else identity.group(2)


AT = datetime(2026, 3, 2, 13, 10, 9, tzinfo=UTC)


def test_cards_show_attendance_identity_and_finish_as_the_live_updates_do(
    client, invigilator, exam, sessions, students
):
    more = enrol_students(exam=exam, students=[
        Student.objects.create(student_number=f"S01{i}", full_name=f"Extra {i}") for i in range(4)
    ])  # fmt: skip
    by_number = {s.student.student_number: s for s in more}
    for number in ("S001", "S002", "S011", "S013"):
        reference_photo(Student.objects.get(student_number=number))
    check_in(session=sessions["S001"], verified=True, distance=0.3)
    check_in(session=sessions["S002"], verified=False, distance=0.8)
    check_in(session=by_number["S010"], verified=None)  # no enrolment photo: nothing compared
    check_in(session=by_number["S011"], verified=None)  # photo added after the check-in
    check_in(session=by_number["S013"], verified=True, distance=0.2)
    ExamSession.objects.filter(pk=by_number["S013"].pk).update(status="finished", finished_at=AT)
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:exam", args=[exam.pk])).content.decode()
    assert badges(page, sessions["S001"]) == ("checked in", "verified")
    assert badges(page, sessions["S002"]) == ("checked in", "not verified")
    assert badges(page, by_number["S010"]) == ("checked in", "no photo: not checked")
    assert badges(page, by_number["S011"]) == ("checked in", "identity not checked")
    assert badges(page, by_number["S012"]) == ("waiting", "")
    assert badges(page, by_number["S013"]) == ("finished", "verified")
    assert "· finished 13:10:09" in card(page, by_number["S013"])


def test_a_student_streaming_is_active_then_disconnected(client, invigilator, exam, sessions):
    session = sessions["S001"]
    check_in(session=session, verified=True)
    frame = FrameRecord.objects.create(session=session, captured_at=timezone.now(), face_count=1)
    client.force_login(invigilator)
    url = reverse("dashboard:exam", args=[exam.pk])
    assert badges(client.get(url).content.decode(), session)[0] == "active"
    frame.captured_at = timezone.now() - timedelta(minutes=5)
    frame.save()
    assert badges(client.get(url).content.decode(), session)[0] == "disconnected"


@pytest.mark.parametrize("clock_24h, written", [(True, "13:10:09"), (False, "1:10:09 PM")])
def test_times_are_written_with_the_sites_clock(client, invigilator, exam, sessions, settings,
                                                clock_24h, written):  # fmt: skip
    settings.CLOCK_24H = clock_24h
    attendance = check_in(session=sessions["S001"], verified=True)
    Attendance.objects.filter(pk=attendance.pk).update(checked_in_at=AT)
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:exam", args=[exam.pk])).content.decode()
    assert f"· in {written}" in card(page, sessions["S001"])
    assert format_span(exam.starts_at, exam.ends_at) in page
    assert f'data-clock="{"24h" if clock_24h else "12h"}"' in page  # what clock.js follows


@pytest.mark.parametrize("clock_24h, written", [
    (True, "Mon 2 Mar 2026, 13:10–15:10"), (False, "Mon 2 Mar 2026, 1:10 PM–3:10 PM"),
])  # fmt: skip
def test_the_exam_list_writes_times_with_the_sites_clock(client, invigilator, exam, settings,
                                                         clock_24h, written):  # fmt: skip
    settings.CLOCK_24H = clock_24h
    exam.starts_at, exam.ends_at = AT, AT + timedelta(hours=2)
    exam.save()
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:home")).content.decode()
    assert f"<td>{written}</td>" in page


def alerts_data(page: str) -> list[dict]:
    return json.loads(re.search(r'<script id="alerts-data"[^>]*>(.*?)</script>', page, re.S)[1])


def test_the_alerts_come_with_the_page_as_the_socket_pushes_them(client, invigilator, exam,
                                                                 sessions):  # fmt: skip
    first = raise_flag(session=sessions["S001"], kind="no_face", raised_at=AT)
    identity = raise_flag(session=sessions["S002"], kind="identity_mismatch", severity=3,
                          evidence={"distance": 0.71, "p_impostor": 0.93, "frame": {}})  # fmt: skip
    older = raise_flag(session=sessions["S002"], kind="identity_mismatch", severity=3,
                       evidence={"frame": {"identity_distance": 0.66}})  # fmt: skip
    review_flag(flag=first, reviewer=invigilator, state="dismissed", note="glare")
    first.refresh_from_db()
    client.force_login(invigilator)
    alerts = alerts_data(client.get(reverse("dashboard:exam", args=[exam.pk])).content.decode())
    assert [a["id"] for a in alerts] == [older.pk, identity.pk, first.pk]  # newest first
    assert alerts[-1] == {**flag_event(first), "evidence": {}}
    assert alerts[1]["evidence"] == {"distance": 0.71, "p_impostor": 0.93}
    assert alerts[0]["evidence"] == {"distance": 0.66, "p_impostor": None}  # older flags


def test_200_students_and_1000_alerts_render_in_a_fixed_number_of_queries(
    client, invigilator, exam, make_exam, django_assert_max_num_queries
):
    small = make_exam("Small")
    assign_invigilator(exam=small, user=invigilator)
    crowd(small, students=2, flags=1, prefix="T")
    crowd(exam, students=200, flags=1000, prefix="B")
    client.force_login(invigilator)
    with CaptureQueriesContext(connection) as baseline:
        client.get(reverse("dashboard:exam", args=[small.pk]))
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        response = client.get(reverse("dashboard:exam", args=[exam.pk]))
    assert len(baseline.captured_queries) <= 12
    page = response.content.decode()
    assert page.count('<article class="student') == 200
    assert len(alerts_data(page)) == 1000


def crowd(exam, *, students: int, flags: int, prefix: str) -> None:
    """An exam in full swing: students checked in and streaming, with photos and alerts."""
    now = timezone.now()
    enrolled = Student.objects.bulk_create(
        Student(student_number=f"{prefix}{i:03d}", full_name=f"Student {prefix}{i}")
        for i in range(students)
    )
    sessions = enrol_students(exam=exam, students=enrolled)
    EnrolmentPhoto.objects.bulk_create(
        EnrolmentPhoto(student=s, image="x.jpg", extension="jpg", sha256=f"{s.pk:064d}",
                       embedding=b"\0" * 512) for s in enrolled
    )  # fmt: skip
    Attendance.objects.bulk_create(
        Attendance(session=s, checked_in_at=now, verified=i % 7 != 0)
        for i, s in enumerate(sessions)
    )
    FrameRecord.objects.bulk_create(
        FrameRecord(session=s, captured_at=now, face_count=1, expression={"neutral": 0.9})
        for s in sessions
    )
    kinds = ["no_face", "looking_away", "identity_mismatch", "multiple_faces", "expression"]
    Flag.objects.bulk_create(
        Flag(exam=exam, session=sessions[(i * i) % len(sessions)], kind=kinds[i % 5],
             severity=1 + i % 3,
             confidence=0.5, raised_at=now - timedelta(seconds=i), snapshot="s.jpg",
             evidence={"distance": 0.7, "p_impostor": 0.9})
        for i in range(flags)
    )  # fmt: skip
