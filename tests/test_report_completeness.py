"""Every flag of every session is in the report page, the PDF, the flags CSV and the report
API, whatever the student's attendance and the flag's review state."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from invigilation.exams.services import check_in, enrol_students
from invigilation.proctoring.models import Flag, FrameRecord
from invigilation.proctoring.services import raise_flag, review_flag
from invigilation.students.models import Student

pytestmark = pytest.mark.django_db


@pytest.fixture
def flags(exam, sessions, invigilator) -> dict[str, Flag]:
    """S001 checked in, with flags in every review state and enough of them to fill more than
    one page of the flags API; S002 streamed and was flagged without checking in; S009 absent."""
    enrol_students(exam=exam, students=[Student.objects.create(student_number="S009")])
    check_in(session=sessions["S001"], verified=True, distance=0.3)
    FrameRecord.objects.create(session=sessions["S002"], captured_at=timezone.now(), face_count=1)
    start = timezone.now() - timedelta(minutes=30)
    for n in range(52):
        raise_flag(session=sessions["S001"], kind="looking_away", severity=1,
                   raised_at=start + timedelta(seconds=n))  # fmt: skip
    found = {"uncheckedin": raise_flag(session=sessions["S002"], kind="identity_mismatch")}
    for state in ("confirmed", "dismissed", "escalated"):
        found[state] = raise_flag(session=sessions["S001"], kind="no_face")
        review_flag(flag=found[state], reviewer=invigilator, state=state, note="looked")
    return found


def api_flag_ids(api, exam) -> set[int]:
    ids, url = set(), f"{reverse('flag-list')}?exam={exam.pk}"
    while url:
        page = api.get(url).json()
        ids |= {flag["id"] for flag in page["results"]}
        url = page["next"]
    return ids


def test_every_flag_is_in_every_view_of_the_report(client, api_as, invigilator, exam, flags):
    expected = api_flag_ids(api_as(invigilator), exam)
    assert len(expected) == 56 and {f.pk for f in flags.values()} <= expected
    assert {f.review_state for f in flags.values()} == {"open", "confirmed", "dismissed",
                                                        "escalated"}  # fmt: skip
    client.force_login(invigilator)

    page = client.get(reverse("reports:exam", args=[exam.pk])).content.decode()
    assert {int(i) for i in re.findall(r'id="flag-(\d+)"', page)} == expected

    pdf = client.get(reverse("reports:pdf", args=[exam.pk])).content
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert {int(i) for i in re.findall(r"\(flag\s+(\d+)\)", text)} == expected

    flags_csv = client.get(reverse("reports:flags-csv", args=[exam.pk])).content
    rows = csv.DictReader(io.StringIO(flags_csv.decode("utf-8-sig")))
    assert {int(row["flag_id"]) for row in rows} == expected

    report = api_as(invigilator).get(reverse("exam-report", args=[exam.pk])).json()
    assert {flag["id"] for flag in report["flags"]} == expected


def test_the_report_api_describes_each_flag(api_as, invigilator, exam, sessions, flags):
    flag = flags["uncheckedin"]
    report = api_as(invigilator).get(reverse("exam-report", args=[exam.pk])).json()
    [described] = [f for f in report["flags"] if f["id"] == flag.pk]
    assert described == {
        "id": flag.pk, "session": sessions["S002"].pk, "kind": "identity_mismatch",
        "severity": 2, "confidence": 1.0, "raised_at": described["raised_at"], "message": "",
        "review_state": "open",
    }  # fmt: skip
    assert described["raised_at"].startswith(flag.raised_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_student_flagged_without_checking_in_has_a_timeline(client, invigilator, exam,
                                                             sessions, flags):  # fmt: skip
    client.force_login(invigilator)
    page = client.get(reverse("reports:exam", args=[exam.pk])).content.decode()
    section = re.search(rf'id="student-{sessions["S002"].pk}".*?</section>', page, re.S).group()
    assert f'id="flag-{flags["uncheckedin"].pk}"' in section and "not checked in" in section
    pdf = client.get(reverse("reports:pdf", args=[exam.pk])).content
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Alan Turing (S002)" in text


def test_every_student_link_on_the_page_resolves(client, invigilator, exam, flags):
    client.force_login(invigilator)
    page = client.get(reverse("reports:exam", args=[exam.pk])).content.decode()
    links = set(re.findall(r'href="#(student-\d+)"', page))
    assert len(links) == 2  # S001 and S002; S009, absent, has nothing to link to
    assert links <= set(re.findall(r'id="(student-\d+)"', page))
