import csv
import io
import re
from datetime import UTC, datetime, timedelta

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from invigilation.exams.models import Attendance
from invigilation.exams.services import check_in, enrol_students
from invigilation.proctoring.models import FrameRecord
from invigilation.proctoring.services import raise_flag, review_flag
from invigilation.students.models import Student

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(exam, sessions, invigilator):
    """S001 verified with one open and one dismissed flag; S002 late, unverified, one
    confirmed flag; S004 verified and clean; S005 absent."""
    extra = [Student.objects.create(student_number=n, full_name=n) for n in ("S004", "S005")]
    s = {x.student.student_number: x for x in enrol_students(exam=exam, students=extra)}
    check_in(session=s["S001"], verified=True, distance=0.31)
    check_in(session=s["S002"], verified=False, distance=0.84)
    Attendance.objects.filter(session=s["S002"]).update(
        checked_in_at=exam.starts_at + timedelta(minutes=25)
    )
    check_in(session=s["S004"], verified=True, distance=0.22)
    now = timezone.now()
    for second in range(5):
        FrameRecord.objects.create(
            session=s["S001"], captured_at=now + timedelta(seconds=second), face_count=1,
            identity_distance=0.3, expression={"neutral": 0.7, "fear": 0.3},
        )  # fmt: skip
    raise_flag(session=s["S001"], kind="looking_away", severity=1)
    dismissed = raise_flag(session=s["S001"], kind="no_face", severity=2)
    review_flag(flag=dismissed, reviewer=invigilator, state="dismissed", note="bent down")
    confirmed = raise_flag(session=s["S002"], kind="identity_mismatch", severity=3)
    review_flag(flag=confirmed, reviewer=invigilator, state="confirmed", note="someone else")
    return s


def test_summary_and_attendance(client, invigilator, exam, seeded):
    client.force_login(invigilator)
    response = client.get(reverse("reports:exam", args=[exam.pk]))
    assert response.status_code == 200
    report = response.context["report"]
    summary = report.summary
    assert (summary.expected, summary.checked_in, summary.verified) == (4, 3, 2)
    assert (summary.to_review, summary.flagged, summary.clean, summary.absent) == (1, 1, 1, 1)
    assert summary.by_kind == {"Looking away": 1, "No face": 1, "Identity mismatch": 1}
    assert summary.by_severity == {"Low": 1, "Medium": 1, "High": 1}
    rows = {r.session.student.student_number: r for r in report.rows}
    assert rows["S005"].absent and not rows["S005"].clean
    assert rows["S002"].late and rows["S002"].verified is False and not rows["S002"].clean
    assert rows["S004"].clean and not rows["S001"].clean  # S001 still has an open flag


def test_csv_exports(client, invigilator, exam, seeded):
    client.force_login(invigilator)
    response = client.get(reverse("reports:attendance-csv", args=[exam.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(table[0]) == ["student_number", "student_name", "checked_in_at", "late",
                              "verified", "identity", "verification_distance", "flags",
                              "open_flags", "outcome", "check_in_source", "seat",
                              "cameras_first_seen", "cameras_last_seen"]  # fmt: skip
    assert [(r["student_number"], r["outcome"]) for r in table] == [
        ("S001", "to review"), ("S002", "flagged"), ("S004", "clean"), ("S005", "absent"),
    ]  # fmt: skip
    flags = list(csv.DictReader(io.StringIO(
        client.get(reverse("reports:flags-csv", args=[exam.pk])).content.decode("utf-8-sig")
    )))  # fmt: skip
    assert [(f["student_number"], f["kind"], f["review_state"]) for f in flags] == [
        ("S001", "looking_away", "open"), ("S001", "no_face", "dismissed"),
        ("S002", "identity_mismatch", "confirmed"),
    ]  # fmt: skip
    assert flags[2]["review_note"] == "someone else" and flags[2]["reviewed_by"] == "invig"


def test_timeline_plot_renders(client, invigilator, exam, seeded):
    client.force_login(invigilator)
    url = reverse("reports:timeline", args=[exam.pk, seeded["S001"].pk])
    response = client.get(url)
    assert response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (900, 480)


def test_other_invigilators_get_nothing(client, other_invigilator, exam, seeded):
    client.force_login(other_invigilator)
    for name, args in [("reports:exam", [exam.pk]), ("reports:flags-csv", [exam.pk]),
                       ("reports:attendance-csv", [exam.pk]),
                       ("reports:timeline", [exam.pk, seeded["S001"].pk])]:  # fmt: skip
        assert client.get(reverse(name, args=args)).status_code == 404, name


def test_review_queue_lists_open_flags_most_severe_first(client, invigilator, exam, seeded):
    raise_flag(session=seeded["S004"], kind="multiple_faces", severity=3, confidence=0.9)
    raise_flag(session=seeded["S004"], kind="expression", severity=1, confidence=0.6)
    client.force_login(invigilator)
    response = client.get(reverse("reports:review", args=[exam.pk]))
    queue = [(e.flag.kind, e.flag.severity) for e in response.context["entries"]]
    # Dismissed and confirmed flags are done; the seeded looking-away flag has confidence 1.
    assert queue == [("multiple_faces", 3), ("looking_away", 1), ("expression", 1)]


def test_pdf_report_renders_with_names_reviews_and_snapshots(
    client, invigilator, exam, seeded, settings
):
    flag = raise_flag(session=seeded["S004"], kind="multiple_faces", snapshot=_jpeg())
    client.force_login(invigilator)
    response = client.get(reverse("reports:pdf", args=[exam.pk]))
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in ["Ada Lovelace", "Alan Turing", "S004", "S005", "absent", "someone else",
                     "More than one face", "not proof of misconduct"]:  # fmt: skip
        assert expected in text, expected
    assert flag.snapshot
    images = sum(len(page.images) for page in reader.pages)
    assert images == 4  # the three present students' timelines and the one snapshot


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_report_api(api_as, invigilator, other_invigilator, exam, seeded):
    url = reverse("exam-report", args=[exam.pk])
    body = api_as(invigilator).get(url).json()
    assert body["summary"]["expected"] == 4 and body["summary"]["clean"] == 1
    s002 = next(r for r in body["attendance"] if r["student_number"] == "S002")
    assert (s002["late"], s002["verified"], s002["flags"]) == (True, False, 1)
    assert api_as(other_invigilator).get(url).status_code == 404


def test_times_follow_the_site_clock(client, invigilator, exam, sessions, settings):
    settings.CLOCK_24H = False
    check_in(session=sessions["S001"], verified=True, distance=0.3)
    Attendance.objects.filter(session=sessions["S001"]).update(
        checked_in_at=exam.starts_at.replace(hour=9, minute=5, second=7)
    )
    raised_at = exam.starts_at.replace(hour=13, minute=10, second=9)
    raise_flag(session=sessions["S001"], kind="no_face", raised_at=raised_at)
    client.force_login(invigilator)
    page = client.get(reverse("reports:exam", args=[exam.pk])).content.decode()
    assert "9:05:07 AM" in page and "1:10:09 PM" in page and ">13:10:09" not in page
    pdf = PdfReader(io.BytesIO(client.get(reverse("reports:pdf", args=[exam.pk])).content))
    text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)  # unwrapped
    assert "9:05:07 AM" in text and "1:10:09 PM" in text and "13:10:09" not in text


def test_the_timeline_axis_is_in_site_time_around_flags_without_frames(exam, sessions, settings):
    from invigilation.reports.plots import timeline_figure

    settings.TIME_ZONE, settings.CLOCK_24H = "Europe/Paris", False
    raised_at = datetime(2026, 1, 15, 12, 10, 9, tzinfo=UTC)  # 1:10:09 PM in Paris
    flag = raise_flag(session=sessions["S001"], kind="stream_stopped", raised_at=raised_at)
    figure = timeline_figure([], [flag], threshold=0.6)
    figure.canvas.draw()
    axis = figure.axes[-1]
    labels = [label.get_text() for label in axis.get_xticklabels() if label.get_text()]
    assert labels and all(re.fullmatch(r"1:(09|10|11):\d\d PM", label) for label in labels)
    start, end = mdates.num2date(axis.get_xlim()[0]), mdates.num2date(axis.get_xlim()[1])
    assert end - start == timedelta(minutes=2)
    plt.close(figure)


def test_markup_in_names_and_notes_does_not_break_the_pdf(client, invigilator, exam, seeded):
    Student.objects.filter(student_number="S004").update(full_name="Bob <b>& Co")
    flag = raise_flag(session=seeded["S004"], kind="no_face", message="a <font> & b")
    review_flag(flag=flag, reviewer=invigilator, state="dismissed", note="x < y & <br/> z")
    client.force_login(invigilator)
    response = client.get(reverse("reports:pdf", args=[exam.pk]))
    assert response.status_code == 200
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)  # lines rejoined
    for written in ["Bob <b>& Co", "a <font> & b", "x < y & <br/> z"]:
        assert written in text, written


def test_a_student_without_a_reference_photo_is_shown_as_not_checked(
    client, api_as, invigilator, exam, sessions
):
    check_in(session=sessions["S001"], verified=None)  # no enrolment photo: nothing compared
    client.force_login(invigilator)
    page = client.get(reverse("reports:exam", args=[exam.pk])).content.decode()
    assert "no photo: not checked" in page and ">verified<" not in page
    rows = csv.DictReader(
        io.StringIO(
            client.get(reverse("reports:attendance-csv", args=[exam.pk])).content.decode(
                "utf-8-sig"
            )
        )
    )
    identities = {row["student_number"]: row["identity"] for row in rows}
    assert identities == {"S001": "no photo: not checked", "S002": "not checked in"}
    report = api_as(invigilator).get(f"/api/exams/{exam.pk}/report/").json()
    assert [r["identity"] for r in report["attendance"]] == list(identities.values())
    pdf = client.get(reverse("reports:pdf", args=[exam.pk])).content
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "no photo: not checked" in text
