"""Judging what the capture page sends before the exam (no Django), on a worker: a check-in
burst (usable pictures, a live face, whose face it is; the scenario evaluator calls
`assess_check_in` too) and a system check's frame."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from invigilation import vision
from invigilation.decisions import identity, liveness

VERIFIED = "verified"
NOT_VERIFIED = "not_verified"
LIVENESS_FAILED = "liveness_failed"
NO_REFERENCE = "no_reference"
UNUSABLE = "unusable"

# At least this share of the burst must show one lit face, or the student is asked again.
MIN_USABLE_SHARE = 0.5


@dataclass(frozen=True)
class Assessment:
    outcome: str
    problem: str = ""  # for UNUSABLE and LIVENESS_FAILED: what the student should change
    distance: float | None = None  # median distance to the enrolment photos
    embeddings: np.ndarray | None = None  # (n, 128): the burst's faces, the anchor if verified
    best_frame: int | None = None  # index of the burst's clearest frame, for the snapshot
    evidence: dict = field(default_factory=dict)


def assess_check_in(
    jpegs: Sequence[bytes], *, enrolment: vision.Enrolment | None, check_liveness: bool = True
) -> Assessment:
    """A check-in burst (about 3 s of frames), judged: one lit face in most frames, then
    a live face (3-D motion or blinks: `liveness.assess_burst`), then the identity (the
    median over the burst's faces of the distance to the enrolment photos)."""
    checks = vision.Checks(identity=True, expression=False, gaze=True, quality=True, embed=True)
    faces, problems = [], Counter()
    for index, jpeg in enumerate(jpegs):
        try:
            result = vision.analyse_frame(jpeg, enrolment, checks)
        except vision.InvalidImage:
            problems["unreadable"] += 1
            continue
        problem = _problem(result)
        if problem:
            problems[problem] += 1
        else:
            faces.append((index, result.faces[0]))
    evidence = {"frames": len(jpegs), "usable": len(faces), "problems": dict(problems)}
    if len(faces) < max(2, MIN_USABLE_SHARE * len(jpegs)):
        worst = problems.most_common(1)[0][0] if problems else "no face"
        return Assessment(UNUSABLE, problem=PROBLEMS.get(worst, worst), evidence=evidence)
    embeddings = np.stack([face.embedding for _, face in faces])
    best = min(faces, key=lambda item: item[1].identity.distance if item[1].identity else 0)[0]
    if check_liveness:
        live = liveness.assess_burst([face.landmarks for _, face in faces])
        evidence["liveness"] = {"live": live.live, "score": live.score, **live.measurements}
        if not live.live:
            return Assessment(
                LIVENESS_FAILED, problem=live.reason, embeddings=embeddings, best_frame=best,
                evidence=evidence,
            )  # fmt: skip
    if enrolment is None or not enrolment.ok:
        return Assessment(NO_REFERENCE, embeddings=embeddings, best_frame=best, evidence=evidence)
    distance = round(statistics.median(face.identity.distance for _, face in faces), 4)
    evidence["distances"] = [face.identity.distance for _, face in faces]
    outcome = VERIFIED if distance < identity.PHOTO_THRESHOLD else NOT_VERIFIED
    return Assessment(outcome, distance=distance, embeddings=embeddings, best_frame=best,
                      evidence=evidence)  # fmt: skip


PROBLEMS = {
    "unreadable": "The pictures could not be read: reload the page and try again.",
    "no face": "No face in view: sit facing the camera, with your whole face in view.",
    "several faces": "More than one face in view: sit alone in front of the camera.",
    "too dark": "Too dark: turn on a light in front of you (not behind you).",
}


def assess_system_check(jpeg: bytes) -> dict:
    """Is one face visible, lit and sharp? Each problem with its plain fix. Nothing is
    stored; the result goes back to the page."""
    started = time.perf_counter()
    try:
        result = vision.analyse_frame(
            jpeg, None, vision.Checks(identity=False, expression=False, gaze=False)
        )
    except vision.InvalidImage as exc:
        problem = f"The picture could not be read ({exc}): run the check again."
        return {"faces": 0, "brightness": 0.0, "sharpness": 0.0, "problems": [problem],
                "server_ms": 0.0}  # fmt: skip
    quality = result.quality
    problems = []
    if result.face_count == 0:
        problems.append("No face found: sit facing the camera, with your whole face in view.")
    elif result.face_count > 1:
        problems.append(f"{result.face_count} faces found: sit alone in front of the camera.")
    if quality.too_dark:
        problems.append(PROBLEMS["too dark"])
    if quality.blurred:
        problems.append("Blurred: wipe the camera lens and keep still.")
    return {
        "faces": result.face_count,
        "brightness": float(quality.brightness),
        "sharpness": float(quality.sharpness),
        "problems": problems,
        "server_ms": round(1000 * (time.perf_counter() - started), 1),
    }


def _problem(result: vision.FrameAnalysis) -> str | None:
    if result.face_count == 0:
        return "no face"
    if result.face_count > 1:
        return "several faces"
    if result.quality and result.quality.too_dark:
        return "too dark"
    if result.faces[0].landmarks is None or result.faces[0].embedding is None:
        return "no face"
    return None
