"""Each rule's confidence has a stated meaning (README, "How sure a flag is"), pure Python."""

import pytest

from invigilation.decisions.rules import (
    FrameResult,
    RuleSettings,
    SessionRules,
    impostor_probability,
)
from invigilation.vision.verify import THRESHOLD

T0 = 1_700_000_000.0
ALONE = {"face_count": 1, "yaw": 0.0, "pitch": 0.0, "brightness": 120.0}


def events(settings: RuleSettings, frames: list[FrameResult]) -> list:
    rules = SessionRules(settings, frame_interval=1.0)  # an exam at 1 frame/s
    return [event for frame in frames for event in rules.observe(frame)]


def test_identity_confidence_is_the_calibrated_impostor_probability():
    # Near the shipped threshold the two kinds of pair are equally likely; far past it, not.
    assert 0.2 < impostor_probability(THRESHOLD) < 0.8
    assert impostor_probability(0.3) < 0.01 < 0.99 < impostor_probability(0.9)
    assert impostor_probability(0.65) < impostor_probability(0.75)
    mismatches = [
        FrameResult(at=T0 + t, face_count=1, identity_match=False, identity_distance=d)
        for t, d in enumerate([0.70, 0.74, 0.78])
    ]
    (event,) = events(RuleSettings(mismatch_checks=3), mismatches)
    assert event.measurements["distance"] == pytest.approx(0.74)
    assert event.confidence == pytest.approx(impostor_probability(0.74), abs=1e-3)
    assert event.measurements["p_impostor"] == event.confidence


def test_a_face_count_rule_is_as_sure_as_the_share_of_the_episode_seen():
    steady = [FrameResult(at=T0 + t, **ALONE) for t in range(5)]
    every_frame = steady + [FrameResult(at=T0 + 5 + t, face_count=0) for t in range(11)]
    (seen_all,) = events(RuleSettings(no_face_seconds=10), every_frame)
    assert seen_all.confidence == 1.0
    # The same 10 s with two of every three frames lost on the way: a third of it was seen.
    sparse = steady + [FrameResult(at=T0 + 5 + t, face_count=0) for t in range(0, 12, 3)]
    (seen_some,) = events(RuleSettings(no_face_seconds=9), sparse)
    assert seen_some.measurements["coverage"] == pytest.approx(4 / 10, abs=0.02)
    assert seen_some.confidence == pytest.approx(0.4, abs=0.02)


def test_measured_rules_are_surer_the_further_past_their_threshold():
    def looking(yaw: float) -> float:
        frames = [FrameResult(at=T0 + t, **{**ALONE, "yaw": yaw}) for t in range(10)]
        (event,) = events(RuleSettings(looking_away_seconds=8, yaw_limit=35), frames)
        return event.confidence

    assert looking(40) < looking(55) < looking(70) == 1.0
    assert looking(40) == pytest.approx(0.5 + 0.5 * (40 / 35 - 1), abs=1e-3)

    def dark(brightness: float) -> float:
        frames = [FrameResult(at=T0 + t, face_count=0, brightness=brightness) for t in range(7)]
        (event,) = events(RuleSettings(camera_seconds=5, dark_brightness=35), frames)
        return event.confidence

    assert dark(30) < dark(10) < dark(0) == 1.0


def test_a_stream_noticed_long_after_it_stopped_is_surer():
    def stopped(after: float) -> float:
        rules = SessionRules(RuleSettings(stream_stopped_seconds=20))
        rules.observe(FrameResult(at=T0, **ALONE))
        return rules.check_stream(T0 + after).confidence

    assert stopped(20) == 0.5 and stopped(30) == 0.75 and stopped(60) == 1.0
