"""Every CSV export quotes cells that a spreadsheet would run as formulas (OWASP's rule)."""

import csv
import io

import pytest
from django.urls import reverse

from invigilation.core.downloads import csv_cell
from invigilation.proctoring.services import raise_flag, review_flag

pytestmark = pytest.mark.django_db

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3",
            "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]  # fmt: skip


def exported(client, name: str, exam) -> list[dict]:
    response = client.get(reverse(name, args=[exam.pk]))
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # what makes Excel open it, and so run formulas
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.mark.parametrize("formula", FORMULAS)
def test_names_and_review_notes_are_exported_as_text(client, exam_admin, exam, sessions, formula):
    session = sessions["S001"]
    session.student.full_name = formula
    session.student.save()
    flag = raise_flag(session=session, kind="no_face", message="nobody in view")
    review_flag(flag=flag, reviewer=exam_admin, state="dismissed", note=formula)
    client.force_login(exam_admin)

    attendance = exported(client, "reports:attendance-csv", exam)
    ada = next(row for row in attendance if row["student_number"] == "S001")
    assert ada["student_name"] == "'" + formula

    (row,) = exported(client, "reports:flags-csv", exam)
    assert row["student_name"] == "'" + formula
    assert row["review_note"] == "'" + formula.strip()  # a note is kept without the blanks
    assert float(row["confidence"]) >= 0  # numbers are written as numbers


def test_only_a_leading_formula_character_matters_and_numbers_pass():
    assert csv_cell("Ada = Lovelace") == "Ada = Lovelace"
    assert csv_cell("-x") == "'-x"
    assert csv_cell(-0.5) == -0.5 and csv_cell(None) is None
