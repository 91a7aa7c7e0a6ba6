"""What the worker does with a judged check-in burst: attempts, the anchor, the liveness
flag after the last attempt, self-enrolment (the judging itself is faked here; the real one
runs in test_check_in_worker.py and the scenario tests)."""

import numpy as np
import pytest
from helpers import jpeg

from invigilation.exams.models import Attendance
from invigilation.proctoring import check_ins, frame_processing
from invigilation.proctoring.models import CheckInAttempt, Flag
from invigilation.students import embeddings
from invigilation.students.models import EnrolmentPhoto
from invigilation.vision import check_in_assessment
from invigilation.vision.check_in_assessment import Assessment

pytestmark = pytest.mark.django_db


BURST = [jpeg() for _ in range(8)]
FACES = np.full((8, 128), 0.05, np.float32)


@pytest.fixture
def judged(monkeypatch):
    """Make the next bursts judge as the given outcomes, in order."""
    outcomes: list[str] = []

    def assess(jpegs, *, enrolment, check_liveness):
        outcome = outcomes.pop(0)
        return Assessment(outcome, problem="Move your head slowly", distance=0.31,
                          embeddings=FACES, best_frame=2, evidence={"usable": 8})  # fmt: skip

    monkeypatch.setattr(check_in_assessment, "assess_check_in", assess)
    return outcomes


def run(session) -> check_ins.CheckInVerdict:
    return check_ins.check_in_from_burst(session_id=session.pk, jpegs=BURST, captured_at=[])


def test_a_verified_burst_checks_in_and_becomes_the_sessions_anchor(sessions, judged):
    ada = sessions["S001"]
    judged.append("verified")
    verdict = run(ada)
    assert (verdict.outcome, verdict.verified, verdict.retry) == ("verified", True, False)
    assert Attendance.objects.get(session=ada).verified is True
    attempt = CheckInAttempt.objects.get(session=ada)
    assert attempt.snapshot and attempt.distance == 0.31
    assert np.array_equal(frame_processing.anchor_for(ada), FACES)


def test_no_live_face_is_retried_then_flagged_and_the_exam_goes_on(sessions, judged, exam):
    ada = sessions["S001"]
    judged += ["unusable", "liveness_failed", "liveness_failed", "liveness_failed"]
    assert run(ada).attempts_left == 3  # a picture problem does not use up an attempt
    first, second = run(ada), run(ada)
    assert [(v.retry, v.attempts_left) for v in (first, second)] == [(True, 2), (True, 1)]
    assert not Attendance.objects.filter(session=ada).exists()  # not checked in yet
    last = run(ada)
    assert (last.retry, last.attempts_left, last.verified) == (False, 0, False)
    attendance = Attendance.objects.get(session=ada)
    assert attendance.note == "No live face at check-in"
    flag = Flag.objects.get(session=ada)
    assert (flag.kind, flag.evidence["phase"]) == ("liveness_failed", "check_in")
    assert flag.snapshot
    assert frame_processing.anchor_for(ada) is None  # nothing unverified is ever the reference
    assert CheckInAttempt.objects.filter(session=ada).count() == 4


def test_with_self_enrolment_the_first_check_in_becomes_an_unconfirmed_reference(
    sessions, judged, exam
):
    exam.self_enrol = True
    exam.save()
    ada = sessions["S001"]
    judged.append("no_reference")
    verdict = run(ada)
    assert verdict.outcome == "no_reference" and "reference photo" in verdict.message
    photo = EnrolmentPhoto.objects.get(student=ada.student)
    assert photo.source == "check_in" and photo.confirmed_at is None
    stored = embeddings.from_bytes(photo.embedding)
    assert np.allclose(stored, FACES.mean(axis=0))
    assert frame_processing.anchor_for(ada) is not None


def test_without_self_enrolment_no_photo_is_made(sessions, judged):
    judged.append("no_reference")
    verdict = run(sessions["S001"])
    assert "your invigilator will check your identity" in verdict.message
    assert not EnrolmentPhoto.objects.exists()
