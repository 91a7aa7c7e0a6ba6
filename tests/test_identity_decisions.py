"""Identity decisions alone (pure): the sequential test over checks, the session anchor,
and whose face it is among the exam's students."""

import dataclasses
import random

import pytest

from invigilation.decisions import identity
from invigilation.decisions.rules import FrameResult, RuleSettings, SessionRules

T0 = 1_700_000_000.0
CHECK_EVERY = 3.0  # seconds between identity checks: every 3rd frame at 1 frame/s


def checks(anchor_distances, enrolment_distance=0.45, roster_match=None):
    return [
        FrameResult(
            at=T0 + i * CHECK_EVERY,
            face_count=1,
            identity_match=True,
            identity_distance=enrolment_distance,
            anchor_distance=d,
            yaw=0.0,
            pitch=0.0,
            roster_match=roster_match,
        )  # fmt: skip
        for i, d in enumerate(anchor_distances)
    ]


def flags(frames, settings=None):
    rules = SessionRules(settings or RuleSettings(), frame_interval=1.0)
    return [event for frame in frames for event in rules.observe(frame)]


def test_ten_hours_of_the_same_student_raise_nothing():
    # Same-session distances as measured on the open clips (median 0.28, p99 0.39).
    rng = random.Random(7)
    distances = [min(0.6, max(0.05, rng.gauss(0.28, 0.05))) for _ in range(12_000)]
    assert flags(checks(distances)) == []


def test_a_look_alike_who_sits_down_is_caught_within_seconds():
    # Matches the enrolment photo by the LFW standard (0.55 < 0.5994), not the session.
    rng = random.Random(3)
    before = [rng.gauss(0.28, 0.05) for _ in range(40)]
    after = [rng.gauss(0.50, 0.035) for _ in range(20)]
    events = flags(checks(before + after, enrolment_distance=0.55))
    assert [e.kind for e in events] == ["identity_mismatch"]
    delay = events[0].at - (T0 + 40 * CHECK_EVERY)
    assert delay <= 8 * CHECK_EVERY
    assert events[0].measurements["judged_against"] == "session"


def test_one_bad_frame_never_flags():
    distances = [0.25] * 10 + [0.95] + [0.25] * 10 + [0.95, 0.3, 0.95] + [0.25] * 10
    assert flags(checks(distances)) == []


def test_without_an_anchor_the_enrolment_photo_decides_like_lfw():
    look_alike = [
        FrameResult(at=T0 + i, face_count=1, identity_match=True, identity_distance=0.55)
        for i in range(30)
    ]
    assert flags(look_alike) == []  # under the LFW threshold: nothing to say without a session
    stranger = [
        FrameResult(at=T0 + i, face_count=1, identity_match=False, identity_distance=0.85)
        for i in range(5)
    ]
    (event,) = flags(stranger)
    assert event.measurements["judged_against"] == "enrolment photo"
    assert event.confidence > 0.99


def test_a_face_turned_away_is_no_evidence():
    turned = [
        FrameResult(
            at=T0 + i, face_count=1, identity_distance=0.9, anchor_distance=0.9, yaw=60.0, pitch=0.0
        )  # fmt: skip
        for i in range(20)
    ]
    assert [e.kind for e in flags(turned)] == ["looking_away"]


def test_the_flag_says_whose_face_it_is():
    events = flags(checks([0.85] * 5, enrolment_distance=0.86, roster_match="S1000007 Ana Lima"))
    (event,) = events
    assert event.measurements["matches"] == "S1000007 Ana Lima"
    assert "it matches S1000007 Ana Lima, who is enrolled in this exam" in event.message


def test_a_match_seen_in_too_few_checks_is_not_claimed():
    frames = checks([0.85] * 4, enrolment_distance=0.86)
    frames[1] = dataclasses.replace(frames[1], roster_match="S2 Bo")  # 1 of 3 checks
    (event,) = flags(frames)
    assert event.measurements["matches"] is None


@pytest.mark.parametrize(
    ("distances", "own", "expected"),
    [
        ({"ana": 0.30, "bo": 0.80}, 0.85, "ana"),
        ({"ana": 0.30, "bo": 0.32}, 0.85, None),  # two candidates too close to tell apart
        ({"ana": 0.65, "bo": 0.80}, 0.85, None),  # nobody within the LFW threshold
        ({"ana": 0.50}, 0.52, None),  # hardly nearer than the student's own photos
        ({}, 0.9, None),
    ],
)
def test_roster_match_is_open_set_with_a_margin(distances, own, expected):
    assert identity.roster_match(distances, own_distance=own) == expected


def test_evidence_uses_the_nearest_reference_of_the_session():
    llr, distance = identity.evidence(identity.IdentityCheck(0.7, 0.3))
    assert distance == 0.3 and llr < 0
    assert identity.evidence(identity.IdentityCheck(None, None)) is None


def schedule(rules: SessionRules, frames: list[FrameResult]) -> list[int]:
    """The indices of the frames that got an identity check, frames fed as the worker does."""
    due = []
    for index, frame in enumerate(frames):
        if rules.identity_due(index, every=3, every_clear=10):
            due.append(index)
        else:
            frame = dataclasses.replace(frame, identity_distance=None, anchor_distance=None)
        rules.observe(frame)
    return due


def stream(anchor_distances, face_counts=None) -> list[FrameResult]:
    counts = face_counts or [1] * len(anchor_distances)
    return [
        FrameResult(
            at=T0 + i,
            face_count=n,
            identity_distance=0.58 if n == 1 else None,
            anchor_distance=d if n == 1 else None,
            yaw=0.0,
            pitch=0.0,
        )  # fmt: skip
        for i, (d, n) in enumerate(zip(anchor_distances, counts, strict=True))
    ]


def test_a_settled_student_is_checked_every_tenth_frame():
    assert schedule(SessionRules(RuleSettings()), stream([0.28] * 40)) == [0, 10, 20, 30]


def test_evidence_against_the_student_brings_back_the_calibrated_rate():
    # From frame 20 a look-alike: the first check of them opens an episode; from then on every
    # 3rd frame is checked, as the sequential test was calibrated, until it fires.
    rules = SessionRules(RuleSettings())
    due = schedule(rules, stream([0.28] * 20 + [0.55] * 20))
    assert due[:4] == [0, 10, 20, 21] and all(i % 3 == 0 for i in due[3:])
    assert rules.identity.fired


def test_whoever_sits_down_after_an_empty_seat_is_checked_at_once():
    counts = [1] * 12 + [0] * 3 + [1] * 5
    due = schedule(SessionRules(RuleSettings()), stream([0.28] * 20, counts))
    assert due == [0, 10, 13, 14, 15]  # 13 and 14 hold no face: nothing to embed
