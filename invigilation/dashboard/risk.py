"""The per-student risk score that orders the live grid, in one place.

    risk = sum over the student's flags of
           SEVERITY_WEIGHT[severity] * confidence * REVIEW_FACTOR[review_state]

A high-severity flag (identity mismatch, several faces) weighs as much as three medium ones
(no face, camera covered, stream stopped) or nine low ones (looking away, expression): the
frequent, noisy kinds cannot bury the one that matters. Confidence (0..1) scales each flag by
how clear-cut its evidence was. Reviews decay the score: an open or escalated flag still asks
for a look (1), a confirmed one is settled but keeps the student above the clean ones (0.5),
a dismissed one was nothing (0).

static/js/dashboard.js (`Risk`) applies the same formula to live updates, reading these
weights from the page (`weights()`, rendered with json_script), so the two cannot drift.
"""

import math
from collections.abc import Iterable
from typing import Protocol

SEVERITY_WEIGHT = {1: 1.0, 2: 3.0, 3: 9.0}
REVIEW_FACTOR = {"open": 1.0, "escalated": 1.0, "confirmed": 0.5, "dismissed": 0.0}
# Lower bounds of the bands the grid colours: one certain open high-severity flag is "high".
BANDS = {"high": 9.0, "medium": 3.0}


class Scored(Protocol):
    severity: int
    confidence: float
    review_state: str


def flag_risk(flag: Scored) -> float:
    return SEVERITY_WEIGHT[flag.severity] * flag.confidence * REVIEW_FACTOR[flag.review_state]


def risk_score(flags: Iterable[Scored]) -> float:
    return sum((flag_risk(flag) for flag in flags), 0.0)


def band(score: float) -> str:
    """ "high", "medium", "low" or "none": the colour of the student's risk on the grid."""
    if score >= BANDS["high"]:
        return "high"
    if score >= BANDS["medium"]:
        return "medium"
    return "low" if score > 0 else "none"


def shown(score: float) -> str:
    """The score on one decimal, halves rounded up as dashboard.js does (Math.round), so a
    reload writes what the live update wrote (4.05 is 4.1 on both)."""
    tenths = score * 10
    whole = math.floor(tenths)
    return f"{(whole + (tenths - whole >= 0.5)) / 10:.1f}"


def weights() -> dict:
    """The formula's constants, as the browser reads them."""
    return {"severity": SEVERITY_WEIGHT, "review": REVIEW_FACTOR, "bands": BANDS}
