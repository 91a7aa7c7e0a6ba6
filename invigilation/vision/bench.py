"""Per-stage milliseconds per webcam frame (long side 640), one thread, after a warm-up.

With `peer=True` every frame also goes through a peer, the `face_recognition` library's
documented webcam loop (HOG with one upsample on the whole frame, then a dlib encoding of every
face it finds, every frame), alternating with the product frame by frame in the same process:
absolute milliseconds on shared machines vary 2x from day to day, the ratio much less.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import types
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from invigilation.decisions.rules import (
    IDENTITY_CHECK_EVERY,
    IDENTITY_CHECK_EVERY_CLEAR,
    RuleSettings,
    SessionRules,
)

from . import frame_observation
from .analyse import Checks, FrameAnalysis, analyse_frame, checks_for_frame
from .datasets import video_frames
from .images import encode_jpeg, load_image
from .model_files import package_file
from .verify import Enrolment, enrol

STAGES = ("decode", "detect", "embed", "verify", "expression", "pose", "quality")
PEER_INSTALL = (
    "pip install --no-deps face_recognition==1.3.0  "
    "(its dependencies dlib and face_recognition_models come from dlib-bin and "
    "face-recognition-models in requirements.txt)"
)


class PeerUnavailable(RuntimeError):
    """The `face_recognition` library is not installed."""


def single_thread() -> None:
    """dlib is single-threaded already; OpenCV and torch are pinned to one thread."""
    import torch  # noqa: PLC0415 - only the benchmark pins torch's pool

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def bench(
    video: Path,
    max_frames: int | None = None,
    warmup: int = 5,
    identity_every: int = IDENTITY_CHECK_EVERY,
    identity_every_clear: int | None = IDENTITY_CHECK_EVERY_CLEAR,
    peer: bool = False,
) -> dict:
    """Mean stage timings over the clip; the student is enrolled from the clip's first frame.

    By default identity runs on the product's schedule (the rules decide, as on the worker:
    `SessionRules.identity_due`); with `identity_every_clear` None, on every
    `identity_every`-th frame.
    `peer`: also time the face_recognition webcam loop on every frame, alternating which of the
    two goes first, and report its mean and `ratio` = product total / peer (lower is cheaper).
    """
    single_thread()
    peer_frame = face_recognition_peer() if peer else None
    frames = islice(video_frames(video, 640), None if max_frames is None else warmup + max_frames)
    jpegs = [encode_jpeg(f) for f in frames]  # as the browser sends them; not timed
    enrolment = enrol([jpegs[0]])
    known = peer_frame.enrol(jpegs[0]) if peer_frame else None
    for jpeg in jpegs[:warmup]:
        analyse_frame(jpeg, enrolment)
        if peer_frame:
            peer_frame(jpeg, known)
    timings, matches, peer_ms, peer_matches = [], [], [], []
    schedule = _Schedule(identity_every, identity_every_clear, enrolment)
    for i, jpeg in enumerate(tqdm(jpegs[warmup:], desc="bench")):
        if peer_frame and i % 2:  # the peer first on odd frames, the product first on even
            peer_ms.append(_timed(peer_frame, jpeg, known, peer_matches))
        result = analyse_frame(jpeg, enrolment, schedule.checks(i))
        schedule.observe(result, float(i))
        timings.append(result.timings_ms)
        matches += [f.identity.is_match for f in result.faces if f.identity]
        if peer_frame and not i % 2:
            peer_ms.append(_timed(peer_frame, jpeg, known, peer_matches))
    mean = {f"{s}_ms": _mean(t.get(s, 0.0) for t in timings) for s in STAGES}
    out = {
        "frames": len(timings),
        **mean,
        "total_ms": _mean(t["total"] for t in timings),
        "identity_every": identity_every,
        "identity_every_clear": identity_every_clear,
        "identity_checks": schedule.identity_checks,
        "embed_ms_per_call": _mean(t["embed"] for t in timings if "embed" in t),
        "match_rate": _mean(matches),
    }
    if peer_frame:
        out["peer_ms"] = _mean(peer_ms)
        out["peer_match_rate"] = _mean(peer_matches)
        out["ratio"] = round(out["total_ms"] / out["peer_ms"], 4)
    return out


class _Schedule:
    """Which frames get an identity check: every N-th, or the rules' schedule."""

    def __init__(self, every: int, every_clear: int | None, enrolment: Enrolment) -> None:
        self.every, self.every_clear = every, every_clear
        self.references = frame_observation.References(enrolment=enrolment)
        self.rules = SessionRules(RuleSettings())
        self.identity_checks = 0

    def checks(self, index: int) -> Checks:
        if self.every_clear is None:
            checks = checks_for_frame(index, self.every)
        else:
            due = self.rules.identity_due(index, every=self.every, every_clear=self.every_clear)
            checks = Checks().with_identity(due)
        self.identity_checks += checks.identity
        return checks

    def observe(self, result: FrameAnalysis, at: float) -> None:
        self.rules.observe(frame_observation.frame_result(result, at, self.references))


class _Peer:
    """face_recognition's webcam example (facerec_from_webcam.py), one frame per call."""

    def __init__(self, module: types.ModuleType) -> None:
        self.fr = module

    def enrol(self, jpeg: bytes) -> list[np.ndarray]:
        return self.fr.face_encodings(load_image(jpeg, rgb=True))[:1]

    def __call__(self, jpeg: bytes, known: list[np.ndarray]) -> list[bool]:
        rgb = load_image(jpeg, rgb=True)  # as the product decodes
        locations = self.fr.face_locations(rgb)  # HOG, number_of_times_to_upsample=1
        encodings = self.fr.face_encodings(rgb, locations)  # dlib, every face, every frame
        return [bool(self.fr.compare_faces(known, e)[0]) for e in encodings if known]


def face_recognition_peer() -> _Peer:
    """The `face_recognition` module (1.3.0), or `PeerUnavailable` saying how to install it.

    face_recognition_models imports pkg_resources, which setuptools no longer ships (>= 81);
    a stand-in providing its one call (`resource_filename`) is used only for that import.
    """
    if importlib.util.find_spec("face_recognition") is None:
        raise PeerUnavailable(f"the peer needs the face_recognition library: {PEER_INSTALL}")
    stand_in = None
    if importlib.util.find_spec("pkg_resources") is None:
        stand_in = types.ModuleType("pkg_resources")
        stand_in.resource_filename = lambda package, name: str(package_file(package, name))
        sys.modules["pkg_resources"] = stand_in
    try:
        import face_recognition  # noqa: PLC0415 - optional, benchmark only
    except (ImportError, SystemExit) as exc:  # it calls quit() when its models are missing
        raise PeerUnavailable(
            f"face_recognition failed to import ({exc}); {PEER_INSTALL}"
        ) from None
    finally:
        if stand_in is not None and sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return _Peer(face_recognition)


def _timed(peer: Callable, jpeg: bytes, known: list, matches: list) -> float:
    start = time.perf_counter()
    matches += peer(jpeg, known)
    return 1000 * (time.perf_counter() - start)


def _mean(values) -> float:
    values = list(values)
    return round(float(np.mean(values)), 2) if values else 0.0
