"""Identity decisions (pure: standard library only, no Django, no numpy).

Whether the face in view is still the student who checked in is decided by a sequential test
over consecutive identity checks, never by one frame: Page's CUSUM on each check's
log-likelihood ratio (impostor against the student), capped per check so that at least
`min_checks` checks are needed, and reset to zero by checks that look like the student.

Each check's evidence is a face distance (Euclidean, between 128-d embeddings) to the
student's references:
- with a session anchor (the embeddings of a verified check-in burst: same person, same
  camera, same day), the distance to the nearest reference, anchor or enrolment photo, judged
  on the distribution of same-session distances measured on video (`SESSION_MODEL`): tight
  enough to tell a look-alike who sits down after the check-in;
- without one (no verified check-in), the distance to the enrolment photos, judged like a
  pair of strangers' photos (`PHOTO_MODEL`, the LFW-calibrated curve).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Euclidean distance to the enrolment photos at which faces are judged the same person (LFW).
PHOTO_THRESHOLD = 0.5994


@dataclass(frozen=True)
class DistanceModel:
    """A logistic log-likelihood ratio in the distance: `slope * (distance - midpoint)` nats
    of evidence that the face is not the student's (0 at the midpoint)."""

    slope: float
    midpoint: float

    def llr(self, distance: float) -> float:
        return self.slope * (distance - self.midpoint)


# P(impostor | distance to an enrolment photo) was fitted on lfw-dev as a logistic curve
# (51.9161 * d - 31.2664, vision/RESULTS.md); with even prior odds its logit is the LLR.
PHOTO_MODEL = DistanceModel(slope=51.9161, midpoint=31.2664 / 51.9161)

# Same-session distances (a face against the nearest face of the same person's check-in burst,
# same camera): the midpoint lies 0.05 above their 99th percentile (0.383 on the open clips;
# look-alikes' median 0.50), measured by `manage.py calibrate_session_identity` with
# leave-one-clip-out checks (vision/RESULTS.md). The slope makes a check one margin past the
# midpoint worth 2 nats, the most one check may add at the default 6 nats over 3 checks.
SESSION_MODEL = DistanceModel(slope=40.0, midpoint=0.433)


@dataclass(frozen=True)
class IdentityCheck:
    """One identity check of a frame's single face."""

    enrolment_distance: float | None  # to the nearest enrolment photo; None without photos
    anchor_distance: float | None  # to the nearest check-in embedding; None without an anchor


def evidence(check: IdentityCheck) -> tuple[float, float] | None:
    """(LLR that the face is not the student's, the distance it was judged on), or None when
    the student has no reference at all."""
    if check.anchor_distance is not None:
        distances = [check.anchor_distance]
        if check.enrolment_distance is not None:
            distances.append(check.enrolment_distance)
        nearest = min(distances)
        return SESSION_MODEL.llr(nearest), nearest
    if check.enrolment_distance is not None:
        return PHOTO_MODEL.llr(check.enrolment_distance), check.enrolment_distance
    return None


def probability(llr: float) -> float:
    """P(not the student) from a per-check LLR at even prior odds."""
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, llr))))


@dataclass
class SequentialTest:
    """Page's CUSUM over identity checks; JSON-able through `state()`."""

    score: float = 0.0
    checks: int = 0  # consecutive checks since the score left zero
    since: float | None = None
    total_distance: float = 0.0
    matches: dict[str, int] | None = None  # roster votes: whose face it was, per check
    fired: bool = False

    def state(self) -> dict:
        return {
            "score": self.score,
            "checks": self.checks,
            "since": self.since,
            "total_distance": self.total_distance,
            "matches": self.matches,
            "fired": self.fired,
        }

    @property
    def mean_distance(self) -> float:
        return self.total_distance / self.checks if self.checks else 0.0

    def update(
        self, llr: float, distance: float, at: float, *, threshold: float, min_checks: int,
        roster_match: str | None = None,
    ) -> bool:  # fmt: skip
        """Add one check; True when the test crosses `threshold` (once per episode).

        Each check adds at most threshold / min_checks, so no fewer than `min_checks`
        checks in a row (nor one bad frame) can fire it."""
        cap = threshold / max(1, min_checks)
        self.score = max(0.0, self.score + max(-cap, min(cap, llr)))
        if self.score == 0.0:
            # The student again: the episode ends (and a fired test re-arms).
            self.checks, self.since, self.total_distance = 0, None, 0.0
            self.matches, self.fired = None, False
            return False
        if self.since is None:
            self.since = at
        self.checks += 1
        self.total_distance += distance
        if roster_match is not None:
            self.matches = self.matches or {}
            self.matches[roster_match] = self.matches.get(roster_match, 0) + 1
        if not self.fired and self.score >= threshold - 1e-9:
            self.fired = True
            return True
        return False

    def matched(self) -> str | None:
        """The other student most checks of the episode matched, if at least half did."""
        if not self.matches:
            return None
        name, votes = max(self.matches.items(), key=lambda item: item[1])
        return name if 2 * votes >= self.checks else None


# A roster match must be this much nearer than the runner-up and the student's own references.
ROSTER_MARGIN = 0.05


def roster_match(
    distances: Mapping[str, float], own_distance: float, *, threshold: float = PHOTO_THRESHOLD
) -> str | None:
    """Whose face this is, among the other students enrolled in the exam (1:N, open set):
    the nearest one, when it is within `threshold` (same person, by the LFW standard) and
    nearer than both the runner-up and the student's own references by `ROSTER_MARGIN`."""
    if not distances:
        return None
    ranked = sorted(distances.items(), key=lambda item: item[1])
    name, nearest = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else float("inf")
    if nearest >= threshold or nearest + ROSTER_MARGIN > min(runner_up, own_distance):
        return None
    return name
