"""Attendance in the report of an exam held in a room: from the kiosk (seat, decision) and the
room's cameras (first and last seen), on the page, the CSV and the PDF."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from invigilation.exams.services import check_in
from invigilation.kiosk.models import KioskAttempt
from invigilation.reports.selectors import Outcome, exam_report
from invigilation.rooms.models import Camera, Sighting
from invigilation.rooms.services import record_sightings

pytestmark = pytest.mark.django_db


@pytest.fixture
def hall(exam, sessions, invigilator):
    """S001 checked in at the kiosk on seat B3 and seen by a camera; S002 never checked in
    but seen by the camera; someone not enrolled turned away at the kiosk."""
    start = timezone.now()
    attendance = check_in(session=sessions["S001"], verified=True, distance=0.31)
    attendance.seat = "B3"
    attendance.save()
    KioskAttempt.objects.create(
        exam=exam, session=sessions["S001"], outcome="match", distance=0.31, seat="B3",
        attempted_at=start, decision="confirmed", decided_by=invigilator,
    )  # fmt: skip
    KioskAttempt.objects.create(
        exam=exam, outcome="not_enrolled", distance=0.71, attempted_at=start, decision="rejected"
    )
    camera = Camera.objects.create(exam=exam, name="Back wall")
    seen = [sessions["S001"], sessions["S002"]]
    record_sightings(camera=camera, at=start + timedelta(minutes=1), sessions=seen)
    record_sightings(camera=camera, at=start + timedelta(minutes=50), sessions=seen[:1])
    return exam


def test_rows_carry_the_kiosk_seat_and_the_cameras_sightings(hall, sessions):
    report = exam_report(exam=hall)
    rows = {r.session.student.student_number: r for r in report.rows}
    first = rows["S001"]
    assert (first.at_kiosk, first.seat, first.check_in_source) == (True, "B3", "kiosk")
    assert first.seen_until - first.seen_from == timedelta(minutes=49)
    assert first.room_text.startswith("at the kiosk, seat B3, seen by the cameras ")
    # Seen in the room without checking in: took part, so not absent.
    assert rows["S002"].checked_in_at is None and rows["S002"].outcome == Outcome.CLEAN
    outcomes = [a.outcome for a in report.kiosk_attempts]
    assert report.in_room and outcomes == ["match", "not_enrolled"]
    assert Sighting.objects.get(session=sessions["S001"]).frames == 2


def test_the_page_csv_and_pdf_show_it(client, invigilator, hall):
    client.force_login(invigilator)
    page = client.get(reverse("reports:exam", args=[hall.pk])).content.decode()
    assert "At the entrance kiosk" in page and "at the kiosk, seat B3" in page
    assert "not enrolled" in page and "confirmed by invig" in page
    response = client.get(reverse("reports:attendance-csv", args=[hall.pk]))
    table = {r["student_number"]: r for r in csv.DictReader(
        io.StringIO(response.content.decode("utf-8-sig"))
    )}  # fmt: skip
    assert (table["S001"]["check_in_source"], table["S001"]["seat"]) == ("kiosk", "B3")
    assert table["S002"]["cameras_first_seen"] and not table["S002"]["checked_in_at"]
    pdf = client.get(reverse("reports:pdf", args=[hall.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
