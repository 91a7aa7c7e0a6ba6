"""Exams created from a timetable CSV: a file with any bad line writes nothing and names
every bad line with its reason; random bytes never give a 500."""

import contextlib
import zoneinfo
from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from invigilation.accounts.roles import INVIGILATOR_GROUP
from invigilation.exams.models import Exam, ExamSession, InvigilatorAssignment
from invigilation.exams.timetable import import_timetable
from invigilation.students.imports import UploadRejected

pytestmark = pytest.mark.django_db

HEADER = "title,course,start,end,mode,room,invigilators,students\n"
GOOD = (
    "Algorithms Final,CS301,2030-06-02 09:00,2030-06-02 11:00,room,Hall A,anna;ben,S001 S002\n"
    "Databases,CS202,2030-06-03T14:00:00+02:00,2030-06-03T16:00:00+02:00,online,,ben,s003\n"
)


@pytest.fixture(autouse=True)
def staff_and_students(settings, students):
    settings.TIME_ZONE = "Europe/London"
    for name in ("anna", "ben"):
        User.objects.create_user(name, password=f"pw-{name}-12345")


def exams_now() -> list[tuple]:
    return sorted(Exam.objects.values_list("course", "title", "starts_at"))


def test_creates_exams_with_invigilators_and_students():
    report = import_timetable(data=(HEADER + GOOD).encode())
    assert (report.succeeded, report.failed_count) == (2, 0)
    assert report.outcomes[0].message.startswith("created CS301 Algorithms Final")
    final = Exam.objects.get(course="CS301")
    london = zoneinfo.ZoneInfo("Europe/London")
    assert final.starts_at == datetime(2030, 6, 2, 9, 0, tzinfo=london)  # site time zone
    assert (final.mode, final.room) == ("room", "Hall A")
    assert sorted(final.invigilators.values_list("username", flat=True)) == ["anna", "ben"]
    assert User.objects.get(username="anna").groups.filter(name=INVIGILATOR_GROUP).exists()
    assert sorted(final.sessions.values_list("student__student_number", flat=True)) == [
        "S001", "S002"
    ]  # fmt: skip
    online = Exam.objects.get(course="CS202")
    assert online.starts_at.isoformat() == "2030-06-03T12:00:00+00:00"  # its own offset
    assert list(online.sessions.values_list("student__student_number", flat=True)) == ["S003"]


@pytest.mark.parametrize(
    "line, reason",
    [
        ("Bad,CS1,2030-06-02 09:00,2030-06-02 11:00,online,,zed,S001",
         "unknown invigilator username(s): zed"),
        ("Bad,CS1,2030-06-02 09:00,2030-06-02 11:00,online,,,S001;S999 S998",
         "unknown student number(s): S999, S998"),
        ("Bad,CS1,2030-06-02 11:00,2030-06-02 09:00,online,,,",
         "end: The exam must end after it starts."),
        ("Bad,CS1,2030-06-02 09:00,2030-06-02 11:00,room,,,",
         "room: An exam held in a room needs the room's name."),
        ("Bad,CS1,02/06/2030 09:00,2030-06-02 11:00,online,,,",
         "start: '02/06/2030 09:00' is not a date and time (write e.g. 2025-06-02 09:30)"),
        ("Bad,CS1,2030-06-02,2030-06-02 11:00,online,,,",
         "start: '2030-06-02' has no time of day"),
        ("Bad,CS1,2030-06-31 09:00,2030-06-02 11:00,online,,,", "start: '2030-06-31 09:00'"),
        ("Bad,CS1,9999-06-02 09:00,9999-06-02 11:00,online,,,", "the year must be from 2000"),
        ("Bad,CS1,,2030-06-02 11:00,online,,,", "start: missing"),
        ("Bad,CS1,2030-06-02 09:00,2030-06-02 11:00,hybrid,,,",
         "mode: 'hybrid' is not room or online"),
        (",CS1,2030-06-02 09:00,2030-06-02 11:00,online,,,", "title: This field cannot be blank."),
        ("Algorithms Final,CS301,2030-06-02 09:00,2030-06-02 12:00,room,Hall B,,",
         "the same exam as line 2"),
    ],
)  # fmt: skip
def test_a_bad_line_is_reported_and_nothing_is_written(line, reason):
    report = import_timetable(data=(HEADER + GOOD + line + "\n").encode())
    [failed] = report.failed
    assert failed.source == "line 4"
    assert reason in failed.message
    assert all(o.message.endswith("(not imported)") for o in report.outcomes if o.ok)
    assert not Exam.objects.exists() and not ExamSession.objects.exists()
    assert not InvigilatorAssignment.objects.exists()
    assert not User.objects.filter(groups__name=INVIGILATOR_GROUP).exists()


def test_every_bad_line_is_reported_with_all_its_problems():
    data = HEADER + "X,CS1,2030-13-01 09:00,,room,,zed,S404\n" + GOOD + ",,,,,,,\n" + "Y,CS2\n"
    report = import_timetable(data=data.encode())
    failed = {o.source: o.message for o in report.failed}
    assert set(failed) == {"line 2", "line 6"}  # blank lines are skipped
    assert failed["line 2"].split("; ") == [
        "unknown invigilator username(s): zed", "unknown student number(s): S404",
        "start: '2030-13-01 09:00' is not a date and time (write e.g. 2025-06-02 09:30)",
        "end: missing", "room: An exam held in a room needs the room's name.",
    ]  # fmt: skip
    assert "start: missing" in failed["line 6"] and "end: missing" in failed["line 6"]
    assert not Exam.objects.exists()


def test_an_exam_already_stored_is_not_created_twice():
    import_timetable(data=(HEADER + GOOD).encode())
    before = exams_now()
    report = import_timetable(data=(HEADER + GOOD).encode())
    assert report.failed_count == 2 and "already exists" in report.failed[0].message
    assert exams_now() == before


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"name,when\nx,y\n", r"lacks the column\(s\) title, course, start, end\."),
        (HEADER.encode(), "no exam rows"),
        ((HEADER + "Zo\xeb,CS1,2030-06-02 09:00,2030-06-02 11:00,,,,\n").encode("latin-1"),
         "not UTF-8"),
    ],
)  # fmt: skip
def test_unusable_files_are_rejected_whole(data, message):
    with pytest.raises(UploadRejected, match=message):
        import_timetable(data=data)


def test_oversized_files_are_refused(settings):
    settings.CSV_IMPORT_MAX_BYTES = 100
    with pytest.raises(UploadRejected, match="limit"):
        import_timetable(data=(HEADER + GOOD * 5).encode())


def test_excel_style_files_with_semicolons_and_a_bom_are_read():
    data = "\ufeffTitle;Course;Start;End;Room;Invigilators;Students\r\n"
    data += "Logic;PH101;2030-06-02 09:00;2030-06-02 10:00;Hall C;anna;S001\r\n"
    report = import_timetable(data=data.encode())
    assert report.succeeded == 1
    assert Exam.objects.get().mode == "room"  # no mode column: a room is named


# ---- the admin page ----------------------------------------------------------------------


def upload(client, data: bytes):
    url = reverse("admin:exams_exam_import_timetable")
    return client.post(url, {"file": SimpleUploadedFile("timetable.csv", data, "text/csv")})


def test_the_changelist_links_to_the_import_page(client, exam_admin):
    client.force_login(exam_admin)
    page = client.get(reverse("admin:exams_exam_changelist")).content.decode()
    assert reverse("admin:exams_exam_import_timetable") in page
    assert "Import exams from a timetable CSV" in page


def test_the_admin_page_creates_the_exams_and_shows_the_report(client, exam_admin):
    client.force_login(exam_admin)
    page = upload(client, (HEADER + GOOD).encode()).content.decode()
    assert "2</strong> exam(s) created" in page and "line 3" in page
    assert Exam.objects.count() == 2


def test_the_admin_page_lists_bad_lines_and_writes_nothing(client, exam_admin):
    client.force_login(exam_admin)
    bad = "Bad,CS1,2030-06-02 09:00,2030-06-02 11:00,online,,zed,\n"
    page = upload(client, (HEADER + GOOD + bad).encode()).content.decode()
    assert "Nothing was imported" in page and "line 4" in page and "zed" in page
    assert not Exam.objects.exists()


def test_the_admin_page_explains_a_rejected_file(client, exam_admin):
    client.force_login(exam_admin)
    page = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00").content.decode()
    assert "not UTF-8" in page


def test_invigilators_cannot_import(client, invigilator):
    before = exams_now()  # the invigilator's own exam
    client.force_login(invigilator)
    assert upload(client, (HEADER + GOOD).encode()).status_code == 302  # to the admin log-in
    assert exams_now() == before


# ---- fuzzed uploads ----------------------------------------------------------------------

FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written to the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CELLS = st.one_of(
    st.sampled_from(["S001", "S002;S404", "anna ben", "room", "online", "Hall A", "",
                     "2030-06-02 09:00", "2030-06-02T11:00+01:00", "2030-02-30 09:00",
                     "0001-01-01 00:00", "9999-12-31T23:59", "=cmd|' /C calc'!A0", '"']),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
)  # fmt: skip
TIMETABLES = st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=6).map(
    lambda rows: (HEADER + "".join(",".join(row) + "\n" for row in rows)).encode()
)


@contextlib.contextmanager
def rolled_back():
    """Every example starts from the same database: what it wrote is undone after it."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), TIMETABLES))
def test_random_uploads_get_a_report_or_a_reason_never_a_500(client, exam_admin, data):
    client.force_login(exam_admin)
    with rolled_back():
        response = upload(client, data)
        assert response.status_code == 200
        page = response.content.decode()
        if "exam(s) created" in page:
            assert Exam.objects.exists()
        else:  # a reason on the page, and nothing written
            assert "Nothing was imported" in page or "errorlist" in page or "messagelist" in page
            assert not Exam.objects.exists()
