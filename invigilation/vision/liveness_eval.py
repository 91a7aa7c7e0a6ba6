"""Measuring liveness: genuine check-in bursts from webcam clips vs wobbled photos.

`python -m invigilation.vision liveness --videos DIR --photos JPG_OR_DIR... [--plot PNG]`

Every frame goes the way a student's frame goes: resized to a long side of 640, JPEG (quality
80), decoded, `analyse_frame` with only the pose stage (which yields the 68 landmarks); the
largest face's landmarks feed `invigilation.decisions.liveness`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np

from invigilation.decisions import liveness

from .analyse import Checks, analyse_frame
from .images import encode_jpeg, resize_long_side
from .simulate import wobble

CHECKS = Checks(identity=False, expression=False, gaze=True, quality=False)
BURST_FPS = 4.0  # the check-in rate recommended: 12 frames in 3 s
BURST_SECONDS = 3.0
TRACK_FPS = 1.0  # frames analysed per second during the exam
SEEDS = (0, 1, 2)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}

Landmarks = tuple[tuple[float, float], ...]


def landmarks_of(bgr: np.ndarray, near: Landmarks | None = None) -> Landmarks | None:
    """68 landmarks of a face in `bgr` as a student's frame would give them.

    The largest face; with `near` (the previous frame's landmarks), the face closest to it, so
    a photo with two similar-sized faces is followed as one face (as a person would be).
    """
    frame = resize_long_side(bgr, 640)
    result = analyse_frame(encode_jpeg(frame, 80), checks=CHECKS)
    faces = [f for f in result.faces if f.landmarks]
    if not faces:
        return None
    if near is None:
        face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    else:
        cx, cy = _centre(near)
        face = min(faces, key=lambda f: math.dist(_centre(f.landmarks), (cx, cy)))
    return face.landmarks


def _centre(landmarks: Landmarks) -> tuple[float, float]:
    return (
        sum(p[0] for p in landmarks) / len(landmarks),
        sum(p[1] for p in landmarks) / len(landmarks),
    )


def followed(frames: Iterable[np.ndarray]) -> Iterator[Landmarks | None]:
    """Landmarks of one face followed through `frames` (see `landmarks_of`)."""
    last = None
    for frame in frames:
        current = landmarks_of(frame, last)
        last = current or last
        yield current


def bounce(t: float, duration: float) -> float:
    """Time in a clip played back and forth (as the scenario evaluator plays short clips)."""
    period = 2 * duration
    t = t % period
    return t if t <= duration else period - t


class Clip:
    """Landmarks of a clip's frames at given times, each frame analysed once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise FileNotFoundError(f"cannot open video {path}")
        self.fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        cap.release()
        self.duration = self.frames / self.fps
        self._cache: dict[int, Landmarks | None] = {}

    def index(self, t: float) -> int:
        return min(self.frames - 1, max(0, round(bounce(t, self.duration) * self.fps)))

    def landmarks(self, times: Iterable[float]) -> list[Landmarks | None]:
        times = list(times)
        wanted = {self.index(t) for t in times} - set(self._cache)
        if wanted:
            for index, frame in self._read(wanted):
                self._cache[index] = landmarks_of(frame)
        return [self._cache[self.index(t)] for t in times]

    def still(self, t: float) -> np.ndarray:
        return next(frame for _, frame in self._read({self.index(t)}))

    def _read(self, indices: set[int]):
        cap = cv2.VideoCapture(str(self.path))
        try:
            last = max(indices)
            for index in range(last + 1):
                ok, frame = cap.read()
                if not ok:
                    return
                if index in indices:
                    yield index, frame
        finally:
            cap.release()


def burst_times(start: float, seconds: float = BURST_SECONDS, fps: float = BURST_FPS):
    return [start + k / fps for k in range(round(seconds * fps))]


def _present(frames: Sequence[Landmarks | None]) -> list[Landmarks]:
    return [f for f in frames if f is not None]


def genuine_bursts(clip: Clip) -> list[dict]:
    """A burst starting at every whole second of the clip (wrapping back and forth)."""
    out = []
    for start in range(math.ceil(clip.duration)):
        frames = _present(clip.landmarks(burst_times(start)))
        result = liveness.assess_burst(frames)
        out.append({"source": clip.path.name, "start": start, "frames": len(frames), **_r(result)})
    return out


def attack_bursts(name: str, image: np.ndarray, seeds: Sequence[int] = SEEDS) -> list[dict]:
    out = []
    for seed in seeds:
        frames = _present(followed(wobble(image, t, seed) for t in burst_times(0.0)))
        result = liveness.assess_burst(frames)
        out.append({"source": name, "seed": seed, "frames": len(frames), **_r(result)})
    return out


def _r(result: liveness.BurstLiveness) -> dict:
    return {"live": result.live, "score": result.score, "reason": result.reason}


def track(stream: Iterable[tuple[float, Landmarks | None]], rigid_for: float = 60.0) -> dict:
    """Run the in-exam tracker; the longest run of "rigid" and when it first lasted `rigid_for`.

    A run is measured as the rules engine measures it: from the first frame of an unbroken
    run of True answers to the latest one.
    """
    state, run_start, longest, flagged_at, costs = None, None, 0.0, None, []
    frames = 0
    for at, landmarks in stream:
        frames += 1
        start = time.perf_counter()
        state, rigid = liveness.track_rigidity(state, landmarks, at)
        costs.append(time.perf_counter() - start)
        if rigid:
            run_start = at if run_start is None else run_start
            longest = max(longest, at - run_start)
            if flagged_at is None and at - run_start >= rigid_for:
                flagged_at = at
        else:
            run_start = None
    return {
        "frames": frames,
        "longest_rigid_s": round(longest, 1),
        "flagged_at_s": flagged_at,
        "tracker_us_per_frame": round(1e6 * float(np.mean(costs)), 1) if costs else None,
    }


def photo_paths(items: Sequence[str], per_dir: int, seed: int = 1234) -> list[Path]:
    """Files as given; from each folder, `per_dir` images drawn at random (fixed seed)."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if len(found) > per_dir:
                found = sorted(random.Random(seed).sample(found, per_dir))
            paths += found
        else:
            paths.append(path)
    return paths


def evaluate(
    videos: Sequence[Path],
    photos: Sequence[Path],
    track_minutes: float = 10.0,
    track_photos: int = 12,
    stills_per_clip: int = 2,
    plot: Path | None = None,
) -> dict:
    clips = [Clip(v) for v in videos]
    genuine = [row for clip in clips for row in genuine_bursts(clip)]
    images = [(p.name, cv2.imread(str(p))) for p in photos]
    missing = [name for name, image in images if image is None]
    images = [(name, image) for name, image in images if image is not None]
    for clip in clips:  # frames of the clips, held up as photos
        for k in range(stills_per_clip):
            t = clip.duration * (k + 1) / (stills_per_clip + 1)
            images.append((f"{clip.path.stem}@{t:.0f}s", clip.still(t)))
    attacks = [row for name, image in images for row in attack_bursts(name, image)]
    no_face = [r for r in attacks if r["frames"] == 0]
    seconds = int(track_minutes * 60)
    live_tracks = [
        {
            "source": c.path.name,
            **track(zip(range(seconds), c.landmarks(range(seconds)), strict=True)),
        }
        for c in clips
    ]
    step = max(1, len(images) // track_photos)
    photo_tracks = [
        {
            "source": name,
            **track(zip(range(91), followed(wobble(image, t, 7) for t in range(91)), strict=True)),
        }
        for name, image in images[::step][:track_photos]
    ]
    genuine_live = sum(r["live"] for r in genuine)
    attack_live = sum(r["live"] for r in attacks if r["frames"])
    g_scores = [r["score"] for r in genuine]
    a_scores = [r["score"] for r in attacks if r["frames"]]
    result = {
        "genuine_bursts": len(genuine),
        "genuine_live": genuine_live,
        "genuine_live_rate": round(genuine_live / len(genuine), 3),
        "attack_bursts": len(attacks) - len(no_face),
        "attack_bursts_no_face": len(no_face),
        "attack_rejected": len(attacks) - len(no_face) - attack_live,
        "attack_rejection_rate": round(1 - attack_live / max(1, len(attacks) - len(no_face)), 3),
        "genuine_score_min": round(min(g_scores), 4),
        "genuine_score_p5": round(float(np.percentile(g_scores, 5)), 4),
        "attack_score_max": round(max(a_scores), 4),
        "threshold": liveness.LIVE_RESIDUAL,
        "live_tracks": live_tracks,
        "photo_tracks": photo_tracks,
        "unreadable_photos": missing,
        "genuine": genuine,
        "attacks": attacks,
    }
    if plot:
        _plot(g_scores, a_scores, plot)
    return result


def _plot(genuine: list[float], attacks: list[float], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only the measurement draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 4))
    top = max(max(genuine), max(attacks), liveness.LIVE_RESIDUAL) * 1.05
    bottom = max(1e-4, min(min(genuine), min(attacks)) * 0.9)
    bins = np.logspace(np.log10(bottom), np.log10(top), 40)
    ax.hist(attacks, bins=bins, alpha=0.6, label=f"wobbled photo ({len(attacks)} bursts)")
    ax.hist(genuine, bins=bins, alpha=0.6, label=f"genuine clip ({len(genuine)} bursts)")
    ax.axvline(liveness.LIVE_RESIDUAL, color="k", ls="--", label="threshold")
    ax.set_xscale("log")
    ax.set_xlabel("burst score: landmark residual after the best homography / inter-ocular")
    ax.set_ylabel("bursts")
    ax.set_title("Check-in liveness (3 people only; blinks count as live separately)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
