"""The kiosk's records in-process (verdicts stand in for the worker's): seats given on
confirmation, never twice; alerts become flags; decisions are final; and the admin's CSV of
pre-assigned seats with its errors."""

from datetime import timedelta

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from invigilation.exams.forms import ExamForm
from invigilation.exams.models import Attendance
from invigilation.kiosk import services
from invigilation.kiosk.models import KioskAttempt
from invigilation.proctoring.models import Flag
from invigilation.students import embeddings

Outcome = KioskAttempt.Outcome


@pytest.fixture
def room_exam(exam, sessions):
    exam.seat_rows, exam.seat_columns, exam.mode, exam.room = 2, 2, "room", "Hall 1"
    exam.save()
    return exam


def verdict(exam, session, outcome=Outcome.MATCH, **measured) -> KioskAttempt:
    attempt = KioskAttempt.objects.create(exam=exam, attempted_at=timezone.now())
    return services.record_verdict(
        attempt, outcome=outcome, message="judged", session=session,
        verified=outcome == Outcome.MATCH, distance=0.41, **measured,
    )  # fmt: skip


def test_confirmed_students_get_seats_in_order_around_a_pre_assigned_one(
    room_exam, sessions, invigilator
):
    sessions["S002"].assigned_seat = "A1"
    sessions["S002"].save()
    first = verdict(room_exam, sessions["S001"])
    assert first.seat == "A2"  # A1 is S002's
    attendance = services.confirm(attempt=first, user=invigilator)
    assert (attendance.seat, attendance.verified, attendance.verification_distance) == (
        "A2", True, 0.41
    )  # fmt: skip
    assert "confirmed by invig" in attendance.note
    second = verdict(room_exam, sessions["S002"])
    assert services.confirm(attempt=second, user=invigilator).seat == "A1"
    first.refresh_from_db()
    assert first.decision == "confirmed" and first.decided_by == invigilator
    assert first.embeddings is None


def test_a_seat_proposed_twice_is_given_once(room_exam, sessions, invigilator):
    # Two kiosks propose the same next seat; the second confirmation takes the next one.
    one, two = verdict(room_exam, sessions["S001"]), verdict(room_exam, sessions["S002"])
    assert one.seat == two.seat == "A1"
    seats = [services.confirm(attempt=a, user=invigilator).seat for a in (one, two)]
    assert seats == ["A1", "A2"]


def test_already_checked_in_is_an_alert_and_cannot_be_confirmed(room_exam, sessions, invigilator):
    services.confirm(attempt=verdict(room_exam, sessions["S001"]), user=invigilator)
    again = verdict(room_exam, sessions["S001"])
    assert again.outcome == Outcome.ALREADY_CHECKED_IN and "seat A1" in again.message
    with pytest.raises(services.KioskRefused, match="Nothing to confirm"):
        services.confirm(attempt=again, user=invigilator)
    flag = Flag.objects.get(kind=Flag.Kind.ALREADY_CHECKED_IN)
    assert flag.session == sessions["S001"] and flag.evidence["kiosk_attempt"] == again.pk


def test_not_enrolled_is_an_alert_on_the_exam_alone(room_exam, invigilator):
    attempt = verdict(room_exam, None, Outcome.NOT_ENROLLED)
    flag = Flag.objects.get(kind=Flag.Kind.NOT_ENROLLED)
    assert flag.exam == room_exam and flag.session is None and attempt.seat == ""
    with pytest.raises(services.KioskRefused):
        services.confirm(attempt=attempt, user=invigilator)


def test_a_decision_is_final(room_exam, sessions, invigilator):
    attempt = verdict(room_exam, sessions["S001"])
    services.reject(attempt=attempt, user=invigilator)
    with pytest.raises(services.KioskRefused, match="already rejected"):
        services.confirm(attempt=attempt, user=invigilator)
    assert not Attendance.objects.exists()


def test_an_override_to_a_number_not_enrolled_is_recorded_as_such(room_exam, sessions, invigilator):
    attempt = verdict(room_exam, None, Outcome.NOT_ENROLLED, embeddings=b"\0" * 512)
    typed = services.override(attempt=attempt, user=invigilator, number="S003")  # other exam's
    assert typed.outcome == Outcome.NOT_ENROLLED and typed.method == "verify"
    assert "S003 is not enrolled" in typed.message
    attempt.refresh_from_db()
    assert attempt.decision == "rejected" and attempt.embeddings is None


def test_an_ended_exam_takes_no_more_bursts(room_exam, invigilator):
    room_exam.starts_at = timezone.now() - timedelta(hours=3)
    room_exam.ends_at = timezone.now() - timedelta(minutes=1)
    room_exam.save()
    with pytest.raises(services.KioskRefused, match="ended"):
        services.accept_burst(exam=room_exam, user=invigilator, jpegs=[])
    assert not KioskAttempt.objects.exists()


def seat_form(exam, csv: str, rows: int = 2, columns: int = 2) -> ExamForm:
    data = {"title": exam.title, "course": exam.course, "mode": "room", "room": "Hall 1",
            "starts_at": exam.starts_at, "ends_at": exam.ends_at, "sampling_fps": 1,
            "retention_days": 30, "seat_rows": rows, "seat_columns": columns}  # fmt: skip
    upload = SimpleUploadedFile("seats.csv", csv.encode(), "text/csv")
    return ExamForm(data, {"seat_assignments": upload}, instance=exam)


def test_the_admin_assigns_seats_from_a_csv(exam, sessions):
    form = seat_form(exam, "student_number,seat\nS001,b2\nS002,A1\n")
    assert form.is_valid(), form.errors
    form.save()
    assert form.save_seat_assignments() == 2
    seats = dict(exam.sessions.values_list("student__student_number", "assigned_seat"))
    assert seats == {"S001": "B2", "S002": "A1"}
    # A new file replaces the old assignment (swapping two students is fine).
    form = seat_form(exam, "S001,A1\nS002,B2\n")
    assert form.is_valid(), form.errors
    form.save_seat_assignments()
    seats = dict(exam.sessions.values_list("student__student_number", "assigned_seat"))
    assert seats == {"S001": "A1", "S002": "B2"}


def test_a_bad_csv_assigns_nothing_and_says_why_line_by_line(exam, sessions):
    form = seat_form(exam, "S001,A1\nS003,A2\nS002,C1\nS002,A1\n")
    assert not form.is_valid()
    errors = form.errors["seat_assignments"]
    assert any("Line 2: S003 is not a student enrolled" in e for e in errors), errors
    assert any("Line 3: Seat C1 is outside the plan" in e for e in errors), errors
    assert any("Line 4: seat A1 is already given on line 1" in e for e in errors), errors
    assert not exam.sessions.exclude(assigned_seat="").exists()


def test_a_seat_plan_needs_both_rows_and_columns(exam, sessions):
    form = seat_form(exam, "S001,A1\n", rows=2, columns=0)
    assert not form.is_valid() and "seat_columns" in form.errors


def test_a_confirmed_matching_face_becomes_the_hall_cameras_reference(
    room_exam, sessions, invigilator
):
    from invigilation.rooms.room_processing import room_people  # noqa: PLC0415 - loads vision

    face = np.full((2, 128), 0.25, np.float32)
    matched = verdict(room_exam, sessions["S001"], embeddings=embeddings.to_bytes(face))
    services.confirm(attempt=matched, user=invigilator)
    unmatched = verdict(room_exam, sessions["S002"], Outcome.NOT_VERIFIED,
                        embeddings=embeddings.to_bytes(face + 1))  # fmt: skip
    services.confirm(attempt=unmatched, user=invigilator)
    matched.refresh_from_db(), unmatched.refresh_from_db()
    assert matched.embeddings is not None and unmatched.embeddings is None
    references = room_people(room_exam).roster
    assert [r.tolist() for r in references["S001"]] == face.tolist()
    assert "S002" not in references  # no enrolment photo, and its kiosk face did not match
