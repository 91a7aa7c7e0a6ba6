"""Liveness from landmarks, on synthetic landmark streams (pure, fast, no data, no Django)."""

from __future__ import annotations

import ast
import json
import math
import random
import sys
import timeit
from pathlib import Path

import pytest

from invigilation.decisions import liveness
from invigilation.decisions.liveness import (
    LIVE_RESIDUAL,
    TRACK_MIN_SECONDS,
    affine_residual,
    assess_burst,
    eye_aspect_ratio,
    perspective_residual,
    track_rigidity,
)

# A frontal face in dlib's 68-point layout, inter-ocular distance 1, eyes' midpoint at 0
# (the median of the development clips' landmarks, rounded).
FRONTAL = [
    (-0.76, 0.05), (-0.76, 0.26), (-0.73, 0.45), (-0.69, 0.66), (-0.62, 0.85), (-0.52, 1.02),
    (-0.39, 1.17), (-0.23, 1.28), (-0.03, 1.32), (0.17, 1.28), (0.35, 1.17), (0.49, 1.03),
    (0.6, 0.86), (0.67, 0.67), (0.72, 0.47), (0.76, 0.26), (0.77, 0.06), (-0.65, -0.19),
    (-0.56, -0.3), (-0.43, -0.33), (-0.28, -0.32), (-0.15, -0.25), (0.13, -0.25), (0.27, -0.31),
    (0.42, -0.32), (0.57, -0.28), (0.66, -0.16), (-0.01, -0.05), (-0.02, 0.09), (-0.02, 0.23),
    (-0.03, 0.37), (-0.19, 0.49), (-0.11, 0.52), (-0.03, 0.54), (0.06, 0.52), (0.14, 0.5),
    (-0.5, 0.0), (-0.42, -0.05), (-0.31, -0.06), (-0.23, 0.02), (-0.32, 0.04), (-0.42, 0.04),
    (0.21, 0.02), (0.31, -0.05), (0.41, -0.06), (0.5, 0.0), (0.42, 0.04), (0.31, 0.04),
    (-0.31, 0.81), (-0.21, 0.72), (-0.11, 0.68), (-0.03, 0.71), (0.05, 0.69), (0.16, 0.74),
    (0.26, 0.82), (0.16, 0.92), (0.05, 0.97), (-0.03, 0.97), (-0.12, 0.96), (-0.22, 0.91),
    (-0.26, 0.81), (-0.11, 0.77), (-0.03, 0.78), (0.05, 0.77), (0.21, 0.82), (0.05, 0.85),
    (-0.04, 0.86), (-0.12, 0.85),
]  # fmt: skip


def _depth(i: int) -> float:
    """A generic face's depth (inter-ocular units, + = away from the camera) per landmark."""
    if i <= 16:  # jaw: the sides lie far behind the chin
        return -0.05 + 0.6 * (abs(i - 8) / 8) ** 1.5
    if i <= 26:  # brows
        return -0.05
    if i <= 30:  # nose bridge to tip
        return -0.1 * (i - 26)
    if i <= 35:  # nostrils
        return -0.25
    if i <= 47:  # eyes: outer corners a little behind
        return 0.05 if i in (36, 45) else 0.0
    return -0.05 if i in (48, 54, 60, 64) else -0.15  # mouth


FACE_3D = [(x, y, _depth(i)) for i, (x, y) in enumerate(FRONTAL)]
IOD_PX = 110.0  # a face at ~60 cm in a 640-px frame
FOCAL_PX = 640.0
DISTANCE = FOCAL_PX / IOD_PX  # the face's distance in inter-ocular units for that size


def project(
    points3d,
    yaw=0.0,
    pitch=0.0,
    roll=0.0,
    shift=(320.0, 240.0),
    noise=0.5,
    rng=None,
):
    """Rotate a 3-D point set (degrees) about its origin, place it and project it (pixels)."""
    cy, sy = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    cp, sp = math.cos(math.radians(pitch)), math.sin(math.radians(pitch))
    cr, sr = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    rng = rng or random.Random(0)
    out = []
    for x, y, z in points3d:
        x, z = cy * x + sy * z, -sy * x + cy * z
        y, z = cp * y - sp * z, sp * y + cp * z
        x, y = cr * x - sr * y, sr * x + cr * y
        depth = DISTANCE + z
        u = FOCAL_PX * x / depth + shift[0] + rng.uniform(-noise, noise)
        v = FOCAL_PX * y / depth + shift[1] + rng.uniform(-noise, noise)
        out.append((u, v))
    return out


def flat_photo(t: float, seed: int = 0, noise: float = 0.5):
    """The frontal face printed flat, hand-held: tilted up to 12 degrees, moved, rotated."""
    rng = random.Random(seed * 1000 + round(t * 100))
    a, b, c = (seed + 1) * 0.7, (seed + 1) * 1.3, (seed + 1) * 2.1
    flat = [(x, y, 0.0) for x, y, _ in FACE_3D]
    return project(
        flat,
        yaw=12 * math.sin(2.1 * t + a),
        pitch=10 * math.sin(1.4 * t + b),
        roll=4 * math.sin(0.9 * t + c),
        shift=(320 + 15 * math.sin(1.7 * t + a), 240 + 10 * math.sin(1.1 * t + b)),
        noise=noise,
        rng=rng,
    )


def turning_head(t: float, amplitude: float = 15.0, seed: int = 0):
    rng = random.Random(seed * 1000 + round(t * 100))
    return project(
        FACE_3D,
        yaw=amplitude * math.sin(2 * math.pi * 0.4 * t),
        pitch=3 * math.sin(2 * math.pi * 0.3 * t),
        shift=(320 + 5 * math.sin(t), 240),
        rng=rng,
    )


def burst(make, fps: float = 4.0, seconds: float = 3.0):
    return [make(k / fps) for k in range(round(fps * seconds))]


def test_affine_residual_is_zero_for_an_affine_copy_and_scale_free():
    points = project(FACE_3D, yaw=5, noise=0)
    moved = [(1.3 * x - 0.2 * y + 40, 0.1 * x + 0.9 * y - 7) for x, y in points]
    assert affine_residual(points, moved) == pytest.approx(0, abs=1e-9)
    turned = project(FACE_3D, yaw=20, noise=0)
    big = [(3 * x, 3 * y) for x, y in turned]
    assert affine_residual(points, turned) > 0.02
    assert affine_residual(points, big) == pytest.approx(affine_residual(points, turned), rel=0.02)


def test_perspective_residual_is_zero_for_a_tilted_plane():
    flat = [(x, y, 0.0) for x, y, _ in FACE_3D]
    front, tilted = project(flat, noise=0), project(flat, yaw=25, pitch=-15, noise=0)
    assert perspective_residual(front, tilted) == pytest.approx(0, abs=1e-6)
    assert perspective_residual(front, project(FACE_3D, yaw=20, noise=0)) > 0.02


def test_a_head_turning_in_3d_is_live():
    result = assess_burst(burst(turning_head))
    assert result.live and result.score >= LIVE_RESIDUAL, result
    assert result.reason and json.dumps(result.measurements)


@pytest.mark.parametrize("seed", range(5))
def test_a_flat_photo_moved_tilted_and_jittered_is_not_live(seed):
    result = assess_burst(burst(lambda t: flat_photo(t, seed)))
    assert not result.live, result
    assert result.score < LIVE_RESIDUAL / 2
    assert "Move your head" in result.reason


def test_a_single_glitch_frame_on_a_photo_does_not_make_it_live():
    frames = burst(flat_photo)
    frames[5] = [(x + random.Random(i).uniform(-8, 8), y) for i, (x, y) in enumerate(frames[5])]
    assert not assess_burst(frames).live


def _blink(frames, closed: set[int]):
    """Close both eyes' lids (points 37, 38, 40, 41, 43, 44, 46, 47) in the frames `closed`."""
    out = []
    for k, frame in enumerate(frames):
        frame = list(frame)
        if k in closed:
            for top, bottom in ((37, 41), (38, 40), (43, 47), (44, 46)):
                mid = (frame[top][1] + frame[bottom][1]) / 2
                frame[top] = (frame[top][0], mid - 0.5)
                frame[bottom] = (frame[bottom][0], mid + 0.5)
        out.append(frame)
    return out


def test_a_blink_is_live_even_when_the_head_is_still():
    still = burst(lambda t: flat_photo(t * 0.01))  # a head held very still
    assert not assess_burst(still).live
    ears = [eye_aspect_ratio(f) for f in _blink(still, {5, 6})]
    assert min(ears) < 0.5 * max(ears)
    result = assess_burst(_blink(still, {5, 6}))
    assert result.live and result.measurements["blink"]
    # Eyes closed until the end of the burst: no recovery, no blink.
    assert not assess_burst(_blink(still, set(range(5, 12)))).measurements["blink"]


def test_too_few_frames_cannot_pass():
    result = assess_burst(burst(turning_head)[:3])
    assert not result.live and "Keep your face in view" in result.reason


def _run(stream):
    """(time, answer) per frame of a 1-fps stream of landmarks."""
    state, answers = None, []
    for at, landmarks in stream:
        state, answer = track_rigidity(state, landmarks, at)
        answers.append((at, answer))
        state = json.loads(json.dumps(state))  # as stored in Redis between frames
    return state, answers


def _longest_true(answers) -> float:
    longest, start = 0.0, None
    for at, answer in answers:
        if answer is True:
            start = at if start is None else start
            longest = max(longest, at - start)
        else:
            start = None
    return longest


@pytest.mark.parametrize("seed", range(3))
def test_tracker_calls_a_wobbled_photo_rigid_within_seconds_and_keeps_it(seed):
    state, answers = _run((t, flat_photo(t, seed)) for t in range(120))
    first = next(at for at, a in answers if a is True)
    assert first <= TRACK_MIN_SECONDS + 1
    assert all(a is True for at, a in answers if at >= first)
    assert len(json.dumps(state)) < 2000  # one reference set plus a few numbers


def _reading(t: int, yaw: float = 6.0):
    """A student reading: head almost still, slow small turns (+-`yaw` degrees over ~40 s),
    looking down and up; the eyes caught closed in ~1 frame in 15 (blinks at 1 fps)."""
    frame = project(
        FACE_3D,
        yaw=yaw * math.sin(2 * math.pi * t / 43),
        pitch=4 * math.sin(2 * math.pi * t / 29),
        roll=1.5 * math.sin(2 * math.pi * t / 61),
        rng=random.Random(t),
    )
    return _blink([frame], {0})[0] if random.Random(-t).random() < 1 / 15 else frame


def test_tracker_never_calls_a_live_face_rigid_for_a_minute():
    _, answers = _run((t, _reading(t)) for t in range(600))  # 10 minutes at 1 fps
    assert _longest_true(answers) < 60
    assert any(a is False for _, a in answers)


def test_tracker_sees_small_head_turns_without_blinks():
    # No blink caught at all: a turn of ~20 degrees within each minute is enough (with this
    # generic face's depths, ~17 degrees from the reference pose reach TRACK_RESIDUAL).
    _, answers = _run(
        (t, project(FACE_3D, yaw=20 * math.sin(2 * math.pi * t / 50), rng=random.Random(t)))
        for t in range(600)
    )
    assert _longest_true(answers) < 60


def test_tracker_cannot_tell_without_a_face_and_starts_over_after_a_gap():
    state, answer = track_rigidity(None, None, 0.0)
    assert answer is None
    state, _ = _run((t, flat_photo(t)) for t in range(20))
    state, answer = track_rigidity(state, None, 20.0)
    assert answer is None
    state, answer = track_rigidity(state, flat_photo(100.0), 100.0)  # 80 s later
    assert answer is None and state["since"] == 100.0


def test_tracker_sees_life_when_a_live_face_replaces_a_photo():
    state, _ = _run((t, flat_photo(t)) for t in range(30))
    answers = []
    for t in range(30, 40):
        state, answer = track_rigidity(state, turning_head(t / 4, amplitude=20), t)
        answers.append(answer)
    assert False in answers


def test_tracker_cost_per_frame_is_small():
    frames = [flat_photo(t) for t in range(50)]
    state, _ = _run(enumerate(frames))
    seconds = timeit.timeit(lambda: track_rigidity(state, frames[7], 51.0), number=50) / 50
    assert seconds < 0.005  # ~0.2-0.3 ms in CPython on one core


def test_the_module_imports_nothing_but_the_standard_library():
    tree = ast.parse(Path(liveness.__file__).read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def _exam_frames(make, seconds: int):
    from invigilation.decisions.rules import FrameResult

    return [
        FrameResult(
            at=1_700_000_000.0 + t,
            face_count=1,
            yaw=0.0,
            pitch=0.0,
            brightness=120.0,
            landmarks=tuple(make(float(t))),
        )  # fmt: skip
        for t in range(seconds)
    ]


def test_the_rule_flags_a_photo_left_in_view_once():
    from invigilation.decisions.rules import RuleSettings, SessionRules

    rules = SessionRules(RuleSettings(liveness_seconds=60), frame_interval=1.0)
    events = [e for f in _exam_frames(flat_photo, 240) for e in rules.observe(f)]
    assert [e.kind for e in events] == ["liveness_failed"]
    assert TRACK_MIN_SECONDS + 60 <= events[0].at - 1_700_000_000.0 <= TRACK_MIN_SECONDS + 62
    assert json.loads(json.dumps(rules.state()))  # the tracker's state travels through Redis


def test_the_rule_never_flags_a_live_face_and_can_be_switched_off():
    from invigilation.decisions.rules import RuleSettings, SessionRules

    # A head glancing 25 degrees aside now and then (about 17 are needed on this generic face).
    rules = SessionRules(RuleSettings(), frame_interval=1.0)
    glancing = [
        e for f in _exam_frames(lambda t: turning_head(t, 25.0), 600) for e in rules.observe(f)
    ]
    assert glancing == []
    off = SessionRules(RuleSettings(liveness=False), frame_interval=1.0)
    assert [e for f in _exam_frames(flat_photo, 240) for e in off.observe(f)] == []
