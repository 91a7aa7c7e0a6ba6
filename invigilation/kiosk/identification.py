"""A kiosk burst's face, identified among a roster: what the worker computes, without Django,
so that the benchmark times exactly it. Worker side only (it loads the face models)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from invigilation.vision import check_in_assessment, hall
from invigilation.vision.check_in_assessment import Assessment


@dataclass(frozen=True)
class BurstIdentity:
    assessment: Assessment  # usable pictures, a live face (as an online check-in's)
    found: hall.Identification | None  # None: no usable face to identify


def identify_burst(
    jpegs: Sequence[bytes], roster: Mapping[str, Sequence[np.ndarray]], *, check_liveness: bool
) -> BurstIdentity:
    """The burst judged as a check-in (no enrolment: the face is not known yet), then its
    face against the roster (1:N, open set). A burst without a live face is identified too:
    the alert then names who it looked like."""
    assessment = check_in_assessment.assess_check_in(
        jpegs, enrolment=None, check_liveness=check_liveness
    )
    if assessment.outcome == check_in_assessment.UNUSABLE:
        return BurstIdentity(assessment, None)
    return BurstIdentity(assessment, hall.identify(probe_of(assessment.embeddings), roster))


def probe_of(faces: np.ndarray) -> np.ndarray:
    """One face for the burst: the mean of its frames' embeddings (steadier than any one)."""
    return np.asarray(faces, np.float32).reshape(-1, 128).mean(axis=0)
