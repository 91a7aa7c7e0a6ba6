"""Each student's outcome (to review, flagged, clean, absent) is defined once, the summary
counts those outcomes so they add up, and every view of the report shows the same."""

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from invigilation.exams.services import check_in, enrol_students
from invigilation.proctoring.models import FrameRecord
from invigilation.proctoring.services import raise_flag, review_flag
from invigilation.students.models import Student

pytestmark = pytest.mark.django_db

EXPECTED = {
    "DISMISSED": "clean",  # only dismissed flags
    "MIXED": "to review",  # one open, one confirmed
    "ESCALATED": "flagged",  # escalated only
    "UNCHECKED": "to review",  # never checked in, but flagged
    "STREAMED": "clean",  # never checked in, streamed, no flag
    "QUIET": "clean",  # checked in, no flag
    "AWAY": "absent",  # no check-in, no frame, no flag
}


@pytest.fixture
def cohort(exam, invigilator) -> dict[str, int]:
    students = [Student.objects.create(student_number=n, full_name=n.title()) for n in EXPECTED]
    sessions = {s.student.student_number: s for s in enrol_students(exam=exam, students=students)}
    for number in ("DISMISSED", "MIXED", "ESCALATED", "QUIET"):
        check_in(session=sessions[number], verified=True, distance=0.3)

    def flag(number: str, state: str) -> None:
        raised = raise_flag(session=sessions[number], kind="no_face")
        if state != "open":
            review_flag(flag=raised, reviewer=invigilator, state=state, note="looked at it")

    flag("DISMISSED", "dismissed")
    flag("MIXED", "open")
    flag("MIXED", "confirmed")
    flag("ESCALATED", "escalated")
    flag("UNCHECKED", "open")
    FrameRecord.objects.create(session=sessions["STREAMED"], captured_at=timezone.now(),
                               face_count=1)  # fmt: skip
    return {number: session.pk for number, session in sessions.items()}


@pytest.fixture
def report(api_as, invigilator, exam, cohort) -> dict:
    return api_as(invigilator).get(reverse("exam-report", args=[exam.pk])).json()


def outcome(report: dict, number: str) -> str:
    return next(r["outcome"] for r in report["attendance"] if r["student_number"] == number)


def test_only_dismissed_flags_is_clean_not_flagged(report):
    assert outcome(report, "DISMISSED") == "clean"
    assert report["summary"]["flagged"] == 1  # ESCALATED only: MIXED is still to review


def test_an_open_flag_beside_a_confirmed_one_is_to_review(report):
    assert outcome(report, "MIXED") == "to review"


def test_escalated_only_is_flagged(report):
    assert outcome(report, "ESCALATED") == "flagged"


def test_flagged_without_checking_in_is_to_review_not_absent_nor_clean(report):
    [row] = [r for r in report["attendance"] if r["student_number"] == "UNCHECKED"]
    assert (row["outcome"], row["absent"], row["clean"]) == ("to review", False, False)


def test_no_flags_is_clean_and_nothing_at_all_is_absent(report):
    found = [outcome(report, number) for number in ("QUIET", "STREAMED", "AWAY")]
    assert found == ["clean", "clean", "absent"]


def test_the_counts_add_up(report):
    summary = report["summary"]
    counts = [summary[k] for k in ("to_review", "flagged", "clean", "absent")]
    assert counts == [2, 1, 3, 1]
    assert sum(counts) == summary["expected"] == len(EXPECTED)


def test_page_pdf_csv_and_api_show_the_same_outcomes_and_counts(client, api_as, invigilator,
                                                                exam, cohort):  # fmt: skip
    client.force_login(invigilator)
    by_session = {pk: EXPECTED[number] for number, pk in cohort.items()}

    page = client.get(reverse("reports:exam", args=[exam.pk])).content.decode()
    shown = re.findall(r'<tr data-session="(\d+)">.*?class="badge outcome [\w-]+">([^<]+)<',
                       page, re.S)  # fmt: skip
    assert {int(pk): outcome for pk, outcome in shown} == by_session
    summary = re.search(r'id="summary".*?</section>', page, re.S).group()
    for name, n in (("to-review", 2), ("flagged", 1), ("clean", 3), ("absent", 1)):
        assert f'<strong id="count-{name}">{n}</strong>' in summary

    pdf = client.get(reverse("reports:pdf", args=[exam.pk])).content
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Outcomes: 2 to review, 1 flagged, 3 clean, 1 absent." in text
    for number, outcome in EXPECTED.items():  # a row's six cells come out one a line
        assert re.search(rf"^{number}\n(.*\n){{4}}{outcome}$", text, re.M), number

    table = client.get(reverse("reports:attendance-csv", args=[exam.pk])).content
    rows = csv.DictReader(io.StringIO(table.decode("utf-8-sig")))
    assert {row["student_number"]: row["outcome"] for row in rows} == EXPECTED

    report = api_as(invigilator).get(reverse("exam-report", args=[exam.pk])).json()
    assert {r["session"]: r["outcome"] for r in report["attendance"]} == by_session
    counts = {k: report["summary"][k] for k in ("to_review", "flagged", "clean", "absent")}
    assert counts == {"to_review": 2, "flagged": 1, "clean": 3, "absent": 1}
