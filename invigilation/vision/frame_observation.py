"""From a frame to the rules' input, once (no Django): the worker and the scenario evaluator
both call these, so what is evaluated is what runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from invigilation import vision
from invigilation.decisions import identity
from invigilation.decisions.rules import FrameResult


@dataclass(frozen=True)
class References:
    """What a student's face is compared with."""

    enrolment: vision.Enrolment | None = None  # the enrolment photos' embeddings
    anchor: np.ndarray | None = None  # (n, 128): the faces of the student's verified check-in
    # Other students enrolled in the exam, label -> (k, 128) embeddings; called only when a
    # face looks like someone else (rarely), so it is loaded only then.
    roster: Callable[[], Mapping[str, np.ndarray]] | None = None


def analyse(jpeg: bytes, references: References, checks: vision.Checks) -> vision.FrameAnalysis:
    """The vision analysis of one frame; raises `vision.InvalidImage` on a bad one."""
    embed = checks.identity and references.anchor is not None
    return vision.analyse_frame(jpeg, references.enrolment, replace(checks, embed=embed))


def main_face(result: vision.FrameAnalysis) -> vision.FaceAnalysis | None:
    """With several faces in view, the largest is taken as the student's."""
    return vision.largest_face(result.faces)


def nearest_distance(embedding: np.ndarray, references: np.ndarray) -> float:
    return round(float(np.linalg.norm(references - embedding, axis=1).min()), 4)


def frame_result(result: vision.FrameAnalysis, at: float, references: References) -> FrameResult:
    """The rules' input for one analysed frame (`at`: seconds, capture time)."""
    face = main_face(result)
    match = face.identity if face else None
    anchor_distance = None
    if face is not None and face.embedding is not None and references.anchor is not None:
        anchor_distance = nearest_distance(face.embedding, references.anchor)
    pose = face.head_pose if face else None
    expression = face.expression.probabilities if face and face.expression else None
    quality = result.quality
    single = result.face_count == 1
    return FrameResult(
        at=at,
        face_count=result.face_count,
        identity_match=match.is_match if match else None,
        identity_distance=match.distance if match else None,
        anchor_distance=anchor_distance,
        roster_match=_roster_match(face, match, anchor_distance, references) if single else None,
        landmarks=face.landmarks if single else None,
        yaw=pose.yaw if pose else None,
        pitch=pose.pitch if pose else None,
        expression=expression,
        brightness=quality.brightness if quality else None,
        sharpness=quality.sharpness if quality else None,
    )


def _roster_match(
    face: vision.FaceAnalysis, match: vision.Match | None, anchor_distance: float | None,
    references: References,
) -> str | None:  # fmt: skip
    """Whom the face matches among the exam's other students, when it looks unlike the
    student (this check's evidence points away from them)."""
    if face.embedding is None or references.roster is None:
        return None
    check = identity.IdentityCheck(match.distance if match else None, anchor_distance)
    judged = identity.evidence(check)
    if judged is None or judged[0] <= 0:
        return None
    roster = references.roster()
    distances = {name: nearest_distance(face.embedding, faces) for name, faces in roster.items()}
    return identity.roster_match(distances, own_distance=judged[1])
