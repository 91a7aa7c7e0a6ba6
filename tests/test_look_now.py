""" "Look now": an invigilator sees the student's latest frame (kept in Redis only, for at most
FRAME_TTL_SECONDS)."""

import io
import time

import pytest
from django.urls import reverse
from PIL import Image

from invigilation.audit.models import AccessEvent
from invigilation.proctoring import frames

pytestmark = pytest.mark.django_db


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


def url(session, exam_id: int | None = None) -> str:
    return reverse("dashboard:latest-frame", args=[exam_id or session.exam_id, session.pk])


def test_the_waiting_frame_is_served_uncached_and_left_for_analysis(client, invigilator,
                                                                    sessions):  # fmt: skip
    session, image = sessions["S001"], jpeg()
    frames.put_latest(session, frames.PendingFrame(image, time.time()))
    client.force_login(invigilator)
    response = client.get(url(session))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg" and response.content == image
    assert response["Cache-Control"] == "private, no-store"
    assert "Last-Modified" in response
    # Looking does not take the frame from the worker that will analyse it.
    assert frames.take_latest(session, "look-now-test").jpeg == image


def test_the_latest_frame_is_still_seen_once_a_worker_took_it(client, invigilator, sessions):
    session, image = sessions["S001"], jpeg()
    frames.put_latest(session, frames.PendingFrame(image, time.time()))
    frames.take_latest(session, "worker")  # taken within milliseconds in a running system
    frames.release(session, "worker")
    client.force_login(invigilator)
    response = client.get(url(session))
    assert response.status_code == 200 and response.content == image


def test_looking_is_recorded_in_the_audit_log(client, invigilator, exam, sessions):
    session = sessions["S001"]
    frames.put_latest(session, frames.PendingFrame(jpeg(), time.time()))
    client.force_login(invigilator)
    client.get(url(session))
    event = AccessEvent.objects.get()
    assert (event.username, event.action, event.what) == ("invig", "viewed", "latest_frame")
    assert (event.exam, event.student_number) == (exam, "S001")


def test_nothing_waiting_is_a_404_that_says_so_and_logs_nothing(client, invigilator, sessions):
    client.force_login(invigilator)
    response = client.get(url(sessions["S002"]))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert "No frame from this student is waiting" in response.content.decode()
    assert not AccessEvent.objects.exists()


def test_another_exams_students_are_out_of_reach(client, invigilator, other_invigilator,
                                                 sessions, exam, other_exam):  # fmt: skip
    mine, theirs = sessions["S001"], sessions["S003"]
    for session in (mine, theirs):
        frames.put_latest(session, frames.PendingFrame(jpeg(), time.time()))
    client.force_login(other_invigilator)
    assert client.get(url(mine)).status_code == 404
    # Their own exam's id with a session of another exam: 404 too.
    assert client.get(url(mine, exam_id=other_exam.pk)).status_code == 404
    client.force_login(invigilator)
    assert client.get(url(theirs, exam_id=exam.pk)).status_code == 404
    assert client.get(url(mine)).status_code == 200


def test_anonymous_users_are_sent_to_log_in(client, sessions):
    session = sessions["S001"]
    frames.put_latest(session, frames.PendingFrame(jpeg(), time.time()))
    response = client.get(url(session))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_exam_admins_may_look_too(client, exam_admin, sessions):
    session = sessions["S002"]
    frames.put_latest(session, frames.PendingFrame(jpeg(), time.time()))
    client.force_login(exam_admin)
    assert client.get(url(session)).status_code == 200


def test_the_card_has_a_look_now_button_for_its_session(client, invigilator, exam, sessions):
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:exam", args=[exam.pk])).content.decode()
    assert f'data-look="{url(sessions["S001"])}"' in page and "Look now" in page
