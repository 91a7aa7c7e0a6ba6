"""Whole-exam scenarios (no Django): the file format, and the frames a student's camera would
send, rendered from clips and photos (see ../shared/data/scenarios-dev/README.md).

Frames are scaled to a 640 px long side and JPEG-encoded at the capture page's quality.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from invigilation.vision.images import encode_jpeg
from invigilation.vision.simulate import wobble

LONG_SIDE = 640
JPEG_QUALITY = 85  # what camera.js asks of the browser
CHECK_IN_OUTCOMES = ("verified", "rejected")


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message says what is wrong and where."""


@dataclass(frozen=True)
class Expectation:
    kind: str
    start: float
    within: float
    matches: str | None = None

    def covers(self, kind: str, at: float, matches: str | None) -> bool:
        if kind != self.kind or not self.start <= at <= self.start + self.within:
            return False
        return self.matches is None or matches == self.matches


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    fps: float
    enrolment: list[Path]
    roster: dict[str, list[Path]]
    check_in: dict
    expect_check_in: str
    timeline: list[dict]
    finish: bool
    expect: list[Expectation] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(float(segment["seconds"]) for segment in self.timeline)

    @property
    def honest(self) -> bool:
        """No event expected: every flag raised is a false flag."""
        return not self.expect and self.expect_check_in == "verified"


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is one JSON object")
    try:
        return _parse(data, path)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScenarioError(f"{path}: {exc!r} (see the scenario format)") from exc


def _parse(data: dict, path: Path) -> Scenario:
    base = path.parent
    fps = float(data["fps"])
    if not 0.05 <= fps <= 30:
        raise ValueError(f"fps {fps} is not between 0.05 and 30")
    expect_check_in = data.get("expect_check_in", "verified")
    if expect_check_in not in CHECK_IN_OUTCOMES:
        raise ValueError(f"expect_check_in must be one of {CHECK_IN_OUTCOMES}")
    timeline = [_segment(segment, base) for segment in data["timeline"]]
    return Scenario(
        name=str(data.get("name") or path.stem),
        path=path,
        fps=fps,
        enrolment=[_file(base, p) for p in data["enrolment"]],
        roster={str(k): [_file(base, p) for p in v] for k, v in data.get("roster", {}).items()},
        check_in=_segment(data["check_in"], base),
        expect_check_in=expect_check_in,
        timeline=timeline,
        finish=bool(data.get("finish", True)),
        expect=[
            Expectation(e["kind"], float(e["from"]), float(e["within"]), e.get("matches"))
            for e in data.get("expect", [])
        ],
    )


def _file(base: Path, relative: str) -> Path:
    path = (base / relative).resolve()
    if not path.is_file():
        raise ValueError(f"file not found: {relative}")
    return path


def _segment(segment: dict, base: Path) -> dict:
    seconds = float(segment["seconds"])
    if seconds <= 0:
        raise ValueError("a segment lasts more than 0 seconds")
    parsed = {**segment, "seconds": seconds}
    if "video" in segment:
        parsed["video"] = _file(base, segment["video"])
    elif "image" in segment:
        parsed["image"] = _file(base, segment["image"])
    elif "side_by_side" in segment:
        parsed["side_by_side"] = [_file(base, p) for p in segment["side_by_side"]]
        if len(parsed["side_by_side"]) != 2:
            raise ValueError("side_by_side takes two clips")
    elif segment.get("blank") not in ("empty", "dark"):
        raise ValueError(f"unknown segment {segment}")
    return parsed


def frames(segments: list[dict], fps: float) -> Iterator[tuple[float, bytes]]:
    """(time in seconds from the first segment's start, JPEG) at `fps`, segment after segment."""
    start = 0.0
    index = 0
    for segment in segments:
        end = start + segment["seconds"]
        while index / fps < end - 1e-9:
            at = index / fps
            yield at, encode(render(segment, at - start))
            index += 1
        start = end


def render(segment: dict, t: float) -> np.ndarray:
    """The camera's picture `t` seconds into a segment (BGR, 640 px long side)."""
    light = float(segment.get("light", 1.0))  # optional: < 1 dims the picture (bad light)
    if "video" in segment:
        image = _clip(segment["video"]).at(float(segment.get("start", 0.0)) + t)
    elif "image" in segment:
        image = _still(segment["image"])
        if segment.get("motion") == "wobble":
            image = wobble(image, t, seed=int(segment.get("seed", 0)))
    elif "side_by_side" in segment:
        left, right = (_clip(p).at(t) for p in segment["side_by_side"])
        height = min(left.shape[0], right.shape[0])
        image = np.hstack([_to_height(left, height), _to_height(right, height)])
    else:
        image = _blank(segment["blank"], t)
    image = _long_side(image)
    if light != 1.0:
        image = np.clip(image.astype(np.float32) * light, 0, 255).astype(np.uint8)
    return image


def encode(image: np.ndarray) -> bytes:
    return encode_jpeg(image, JPEG_QUALITY)


def _long_side(image: np.ndarray) -> np.ndarray:
    # Not vision.images.resize_long_side: that one enlarges with INTER_LINEAR, and the
    # evaluation's figures were measured on frames enlarged with INTER_AREA (d9 is 512 px
    # wide; one of its check-in bursts changes verdict with the other interpolation).
    scale = LONG_SIDE / max(image.shape[:2])
    if abs(scale - 1) < 1e-3:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _to_height(image: np.ndarray, height: int) -> np.ndarray:
    width = round(image.shape[1] * height / image.shape[0])
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _blank(kind: str, t: float) -> np.ndarray:
    """Nobody in view: an evenly lit, slightly noisy wall; or a covered lens: almost black."""
    rng = np.random.default_rng(int(t * 1000))
    level, noise = (125, 6) if kind == "empty" else (6, 3)
    image = rng.normal(level, noise, (480, 640, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@cache
def _still(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ScenarioError(f"{path}: not a readable image")
    return _long_side(image)


class _Clip:
    """A video's frames by time, played back and forth past its end (decoded once, scaled)."""

    def __init__(self, path: Path) -> None:
        capture = cv2.VideoCapture(str(path))
        fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.frames = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            self.frames.append(_long_side(image))
        capture.release()
        if not self.frames:
            raise ScenarioError(f"{path}: no frames could be read from the video")
        self.fps = fps

    def at(self, t: float) -> np.ndarray:
        last = len(self.frames) - 1
        position = round(t * self.fps)
        if last == 0:
            return self.frames[0]
        position %= 2 * last  # forward, then backward, then forward again
        return self.frames[position if position <= last else 2 * last - position]


def clip_seconds(path: Path) -> float:
    clip = _clip(path)
    return len(clip.frames) / clip.fps


@cache
def _clip(path: Path) -> _Clip:
    return _Clip(path)
