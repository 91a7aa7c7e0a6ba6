"""Liveness on real frames: genuine check-in bursts from a clip pass, a wobbled photo fails."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from invigilation.decisions.liveness import assess_burst, track_rigidity
from invigilation.vision.datasets import data_dir
from invigilation.vision.liveness_eval import Clip, burst_times, followed, landmarks_of
from invigilation.vision.simulate import wobble


@pytest.fixture(scope="module")
def clip(video_path: Path) -> Clip:
    return Clip(video_path)


@pytest.fixture(scope="module")
def enrolment_photo() -> np.ndarray:
    path = data_dir() / "scenarios-dev" / "media" / "a_enrol.jpg"
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (set INVIGILATION_DATA_DIR)")
    return cv2.imread(str(path))


@pytest.mark.parametrize("start", [4, 9, 14])
def test_genuine_check_in_bursts_are_live(clip: Clip, start: int) -> None:
    frames = [f for f in clip.landmarks(burst_times(start)) if f is not None]
    assert len(frames) >= 10
    result = assess_burst(frames)
    assert result.live, result


@pytest.mark.parametrize("seed", [0, 1])
def test_a_wobbled_enrolment_photo_is_not_live(enrolment_photo: np.ndarray, seed: int) -> None:
    frames = [f for f in followed(wobble(enrolment_photo, t, seed) for t in burst_times(0.0)) if f]
    assert len(frames) >= 10
    result = assess_burst(frames)
    assert not result.live, result
    assert "Move your head" in result.reason


def test_wobble_is_deterministic_and_keeps_the_frame_size(enrolment_photo: np.ndarray) -> None:
    a, b = wobble(enrolment_photo, 1.3, seed=4), wobble(enrolment_photo, 1.3, seed=4)
    assert np.array_equal(a, b)
    assert max(a.shape[:2]) == 640 and a.shape[2] == 3
    assert not np.array_equal(a, wobble(enrolment_photo, 2.0, seed=4))
    assert landmarks_of(a) is not None


def test_a_photo_left_in_view_is_rigid_and_the_clip_is_not(
    enrolment_photo: np.ndarray, clip: Clip
) -> None:
    state, answers = None, []
    photo = followed(wobble(enrolment_photo, t, 7) for t in range(40))
    for t, landmarks in enumerate(photo):
        state, answer = track_rigidity(state, landmarks, float(t))
        answers.append(answer)
    assert all(a is True for a in answers[10:]), answers
    state, answers = None, []
    for t, landmarks in enumerate(clip.landmarks(range(40))):
        state, answer = track_rigidity(state, landmarks, float(t))
        answers.append(answer)
    assert False in answers
