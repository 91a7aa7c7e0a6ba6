import time

import pytest

from invigilation.decisions.rules import FrameResult, SessionRules
from invigilation.exams.services import check_in
from invigilation.proctoring import frames
from invigilation.proctoring.frame_processing import flag_stopped_streams, rule_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def streaming(sessions):
    """S001 checked in and sent one frame 30 s ago; S002 never started."""
    session = sessions["S001"]
    check_in(session=session, verified=True, distance=0.3)
    rules = SessionRules(rule_settings(session.exam))
    rules.observe(FrameResult(at=time.time() - 30, face_count=1))
    frames.save_rules_state(session, rules.state(), 60)
    return session


def test_a_silent_stream_is_flagged_once(streaming, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        flags = flag_stopped_streams(now=time.time())
    assert [(f.session_id, f.kind, f.snapshot.name) for f in flags] == [
        (streaming.pk, "stream_stopped", "")
    ]
    assert flag_stopped_streams(now=time.time() + 5) == []


def test_per_exam_threshold_for_stopped_streams(streaming):
    exam = streaming.exam
    exam.rule_thresholds = {"stream_stopped_seconds": 60}
    exam.save()
    assert flag_stopped_streams(now=time.time()) == []
