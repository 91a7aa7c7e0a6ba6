"""A student finishes the exam (or the exam ends): no flag after it, frames refused."""

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse
from django.utils import timezone
from helpers import jpeg
from rest_framework.test import APIClient

from invigilation.decisions.rules import FrameResult, SessionRules
from invigilation.exams.models import ExamSession
from invigilation.exams.services import check_in
from invigilation.proctoring import frames
from invigilation.proctoring.frame_processing import (
    finish_ended_sessions,
    flag_stopped_streams,
    process_latest_frame,
    rule_settings,
)
from invigilation.proctoring.groups import exam_group
from invigilation.proctoring.models import Flag, FrameRecord

pytestmark = pytest.mark.django_db


def student(session: ExamSession) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {session.token}")
    return client


@pytest.fixture
def streaming(sessions) -> ExamSession:
    """S001 checked in; its last frame arrived 30 s ago (a stopped stream, unless finished)."""
    session = sessions["S001"]
    check_in(session=session, verified=True, distance=0.3)
    rules = SessionRules(rule_settings(session.exam))
    rules.observe(FrameResult(at=time.time() - 30, face_count=1))
    frames.save_rules_state(session, rules.state(), 60)
    session.refresh_from_db()
    return session


def listen(exam_id: int) -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(exam_group(exam_id), channel)
    return channel


def test_finish_ends_the_session_and_tells_the_dashboards(
    streaming, django_capture_on_commit_callbacks
):
    channel = listen(streaming.exam_id)
    with django_capture_on_commit_callbacks(execute=True):
        response = student(streaming).post(reverse("finish"))
    assert response.status_code == 200 and response.json()["status"] == "finished"
    streaming.refresh_from_db()
    assert streaming.status == ExamSession.Status.FINISHED and streaming.finished_at
    event = async_to_sync(get_channel_layer().receive)(channel)
    assert event == {
        "type": "session.finished",
        "session": {"session": streaming.pk, "finished_at": streaming.finished_at.isoformat()},
    }
    again = student(streaming).post(reverse("finish"))  # pressing twice changes nothing
    assert again.status_code == 200
    assert again.json()["finished_at"] == response.json()["finished_at"]


def test_after_finish_no_stream_stopped_flag_and_frames_are_refused(streaming):
    student(streaming).post(reverse("finish"))
    assert flag_stopped_streams(now=time.time()) == []
    frame = student(streaming).post(reverse("frame-ingest"), jpeg(), content_type="image/jpeg")
    assert frame.status_code == 409 and "finished" in frame.json()["detail"]
    retry = student(streaming).post(reverse("check-in"), jpeg(), content_type="image/jpeg")
    assert retry.status_code == 409
    assert not Flag.objects.exists()


def test_a_frame_sent_before_finish_is_dropped_not_analysed(streaming):
    frames.put_latest(streaming, frames.PendingFrame(jpeg(), time.time()))
    student(streaming).post(reverse("finish"))
    assert process_latest_frame(session_id=streaming.pk) is None
    assert not FrameRecord.objects.exists() and not Flag.objects.exists()
    assert frames.dropped_frames(streaming) == 1  # counted: every accepted frame is accounted


def test_at_the_exams_end_sessions_in_progress_are_finished(streaming, sessions):
    exam = streaming.exam
    exam.ends_at = timezone.now() - timedelta(seconds=1)
    exam.save()
    finished = finish_ended_sessions(now=time.time())
    assert [s.pk for s in finished] == [streaming.pk]
    streaming.refresh_from_db()
    assert streaming.status == ExamSession.Status.FINISHED
    assert streaming.finished_at == exam.ends_at
    never_came = ExamSession.objects.get(pk=sessions["S002"].pk)
    assert never_came.status == ExamSession.Status.SCHEDULED  # absent, not finished
    assert finish_ended_sessions(now=time.time()) == []


def test_the_capture_page_of_a_finished_session_shows_the_end_screen(streaming, client):
    page = client.get(reverse("proctoring:capture", args=[streaming.token])).content.decode()
    assert 'id="step-finished" hidden' in page
    student(streaming).post(reverse("finish"))
    page = client.get(reverse("proctoring:capture", args=[streaming.token])).content.decode()
    assert 'id="step-finished" hidden' not in page and "You have finished this exam" in page
    assert 'id="step-consent" hidden' in page
