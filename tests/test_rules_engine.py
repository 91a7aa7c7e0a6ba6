"""The rules engine alone, on synthetic frame-result streams (no Django, no database)."""

import ast
import json
import sys
from pathlib import Path

from invigilation.decisions import rules as rules_module
from invigilation.decisions.rules import FrameResult, RuleSettings, SessionRules

T0 = 1_700_000_000.0
STUDENT = {"face_count": 1, "identity_match": True, "identity_distance": 0.35, "yaw": 2.0,
           "pitch": 1.0, "brightness": 120.0,
           "expression": {"neutral": 0.8, "happy": 0.1, "fear": 0.05, "angry": 0.05}}  # fmt: skip


def frame(second: float, **changes) -> FrameResult:
    return FrameResult(at=T0 + second, **{**STUDENT, **changes})


def run(rules: SessionRules, frames) -> list:
    return [event for f in frames for event in rules.observe(f)]


def test_a_normal_stream_raises_nothing():
    assert run(SessionRules(RuleSettings()), [frame(t) for t in range(120)]) == []


def test_no_face_fires_once_after_the_window():
    rules = SessionRules(RuleSettings(no_face_seconds=10))
    events = run(rules, [frame(t, face_count=0) for t in range(30)])
    assert [(e.kind, e.at - T0) for e in events] == [("no_face", 10.0)]
    assert events[0].measurements["frames"] == 11
    assert events[0].message == "No face in view for 10 s"


def test_a_single_empty_frame_never_fires():
    frames = [frame(t, face_count=0 if t % 5 == 0 else 1) for t in range(60)]
    assert run(SessionRules(RuleSettings(no_face_seconds=3)), frames) == []


def test_an_interrupted_condition_starts_counting_again():
    frames = [frame(t, face_count=0) for t in range(8)] + [frame(8)]
    frames += [frame(t, face_count=0) for t in range(9, 17)]
    assert run(SessionRules(RuleSettings(no_face_seconds=10)), frames) == []


def test_hysteresis_one_flag_per_episode():
    rules = SessionRules(RuleSettings(looking_away_seconds=4, clear_seconds=5))
    away = {"yaw": 60.0}
    frames = [frame(t, **away) for t in range(10)]  # fires at 4 s
    frames += [frame(t) for t in range(10, 13)]  # back for 3 s: not long enough to re-arm
    frames += [frame(t, **away) for t in range(13, 20)]  # still the same episode
    frames += [frame(t) for t in range(20, 26)]  # clear for 5 s: re-armed
    frames += [frame(t, **away) for t in range(26, 32)]  # a second episode fires at 30 s
    events = run(rules, frames)
    assert [(e.kind, e.at - T0) for e in events] == [("looking_away", 4.0), ("looking_away", 30.0)]


def test_multiple_faces():
    events = run(SessionRules(RuleSettings()), [frame(t, face_count=2) for t in range(5)])
    assert [(e.kind, e.severity, e.measurements["peak"]) for e in events] == [
        ("multiple_faces", 3, 2.0)
    ]


def test_identity_mismatch_needs_consecutive_checks():
    # Each check adds at most a third of the evidence needed; a check that looks like the
    # student takes back one check's worth, so it takes three mismatches more than matches.
    mismatch = {"identity_match": False, "identity_distance": 0.82}
    rules = SessionRules(RuleSettings(mismatch_checks=3))
    assert run(rules, [frame(0, **mismatch), frame(1, **mismatch), frame(2)]) == []
    assert run(rules, [frame(3, **mismatch)]) == []
    events = run(rules, [frame(t, **mismatch) for t in range(4, 7)])
    assert [(e.kind, e.at - T0) for e in events] == [("identity_mismatch", 4.0)]
    assert events[0].measurements["frame"]["identity_distance"] == 0.82


def test_the_student_again_ends_the_episode():
    mismatch = {"identity_match": False, "identity_distance": 0.82}
    rules = SessionRules(RuleSettings(mismatch_checks=3))
    assert len(run(rules, [frame(t, **mismatch) for t in range(3)])) == 1
    assert run(rules, [frame(t) for t in range(3, 6)]) == []  # back: evidence drains to zero
    assert len(run(rules, [frame(t, **mismatch) for t in range(6, 9)])) == 1  # a new episode


def test_frames_without_an_identity_check_neither_count_nor_clear():
    mismatch = {"identity_match": False, "identity_distance": 0.9}
    unchecked = {"identity_match": None, "identity_distance": None}
    frames = [frame(0, **mismatch), frame(1, **unchecked), frame(2, **mismatch),
              frame(3, **unchecked), frame(4, **mismatch)]  # fmt: skip
    events = run(SessionRules(RuleSettings(mismatch_checks=3)), frames)
    assert [e.kind for e in events] == ["identity_mismatch"]


def test_sustained_strong_negative_expression():
    fearful = {"expression": {"fear": 0.5, "surprise": 0.3, "neutral": 0.2}}
    rules = SessionRules(RuleSettings(expression_seconds=20, expression_threshold=0.6))
    usual = [frame(t) for t in range(30)]  # what this student's face usually reads as
    events = run(rules, usual + [frame(t, **fearful) for t in range(30, 55)])
    # Mean score 0.8, halfway from the threshold 0.6 to 1: 0.5 + 0.5 * 0.5; every frame seen.
    assert [(e.kind, e.at - T0, e.confidence) for e in events] == [("expression", 50.0, 0.75)]


def test_a_face_the_identity_test_doubts_is_not_judged_against_the_students_usual():
    # Someone else sits down at 30 s: their face reads more fearful than the student's usual,
    # but whose usual it is, is exactly what is in doubt (the identity flag says so).
    fearful = {"expression": {"fear": 0.5, "surprise": 0.3, "neutral": 0.2}}
    proxy = {**fearful, "identity_match": False, "identity_distance": 0.8}
    rules = SessionRules(RuleSettings(expression_seconds=20, expression_threshold=0.6))
    usual = [frame(t) for t in range(30)]
    events = run(rules, usual + [frame(t, **proxy) for t in range(30, 90)])
    assert [e.kind for e in events] == ["identity_mismatch"]
    # Only the first of the other face's frames joined the usual: no doubt was held before it.
    assert rules.expression_usual[0] == 31


def test_a_face_that_always_reads_as_fearful_is_not_flagged_for_it():
    fearful = {"expression": {"fear": 0.5, "surprise": 0.3, "neutral": 0.2}}
    rules = SessionRules(RuleSettings(expression_seconds=20))
    assert run(rules, [frame(t, **fearful) for t in range(600)]) == []


def test_a_dark_camera_is_camera_blocked_not_no_face():
    dark = {"face_count": 0, "brightness": 8.0}
    events = run(
        SessionRules(RuleSettings(camera_seconds=5)), [frame(t, **dark) for t in range(15)]
    )
    assert [e.kind for e in events] == ["camera_blocked"]


def test_per_exam_switches_turn_rules_off():
    settings = RuleSettings(presence=False, multiple_faces=False, gaze=False, expression=False)
    frames = [frame(t, face_count=0) for t in range(20)]
    frames += [frame(t, face_count=2, yaw=80.0) for t in range(20, 40)]
    assert run(SessionRules(settings), frames) == []


def test_per_exam_thresholds():
    away = [frame(t, yaw=30.0) for t in range(20)]  # 30 degrees: within 35, beyond 20
    assert run(SessionRules(RuleSettings(yaw_limit=35)), away) == []
    assert [e.kind for e in run(SessionRules(RuleSettings(yaw_limit=20)), away)] == ["looking_away"]


def test_state_survives_a_json_round_trip_between_frames():
    settings = RuleSettings(no_face_seconds=5)
    events, state = [], None
    for t in range(10):
        rules = SessionRules(settings, json.loads(json.dumps(state)) if state else None)
        events += rules.observe(frame(t, face_count=0))
        state = rules.state()
    assert [(e.kind, e.at - T0) for e in events] == [("no_face", 5.0)]


def test_out_of_order_frames_are_ignored():
    rules = SessionRules(RuleSettings(no_face_seconds=2))
    run(rules, [frame(t, face_count=0) for t in range(2)])
    assert rules.observe(frame(0.5, face_count=0)) == []
    assert [e.kind for e in rules.observe(frame(2, face_count=0))] == ["no_face"]


def test_stream_stopped_is_flagged_once_per_gap():
    rules = SessionRules(RuleSettings(stream_stopped_seconds=20))
    assert rules.check_stream(T0) is None  # nothing received yet: not stopped, not started
    rules.observe(frame(0))
    assert rules.check_stream(T0 + 10) is None
    event = rules.check_stream(T0 + 25)
    assert (event.kind, event.message) == ("stream_stopped", "No frames received for 25 s")
    assert rules.check_stream(T0 + 40) is None
    rules.observe(frame(41))
    assert rules.check_stream(T0 + 70).kind == "stream_stopped"


PURE = {"invigilation.decisions.rules", "invigilation.decisions.identity",
        "invigilation.decisions.liveness"}  # fmt: skip


def test_the_engine_imports_nothing_but_the_standard_library():
    # The rules and the pure decisions they use (identity, liveness), followed import by import.
    root = Path(rules_module.__file__).parents[2]
    for module in PURE:
        tree = ast.parse((root / (module.replace(".", "/") + ".py")).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "invigilation.decisions":
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module] if isinstance(node, ast.ImportFrom) else []
                imported |= set(names or [alias.name for alias in node.names])
        outside = {name for name in imported if name not in PURE}
        top_level = {name.split(".")[0] for name in outside}
        assert top_level <= set(sys.stdlib_module_names) | {"__future__"}, (module, outside)
