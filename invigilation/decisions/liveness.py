"""Liveness from face landmarks: a live 3-D face, or a flat photo / phone screen held up?

Pure Python (standard library only): the rules engine imports it.

Principle: a photo that is moved, tilted or wobbled in front of the camera keeps its landmark
geometry up to a plane-to-plane map (affine, or a homography when tilted towards the camera);
a head that turns, nods, talks or blinks does not. So we fit the map from one frame's
landmarks (dlib's 68-point scheme, image pixels) to another's and measure what it cannot
explain, relative to the inter-ocular distance. Blinks also show directly as a dip of the
eye aspect ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]
Landmarks = Sequence[Sequence[float]]

# dlib's 68 points: 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth.
LEFT_EYE = (36, 37, 38, 39, 40, 41)  # image left
RIGHT_EYE = (42, 43, 44, 45, 46, 47)
OUTER_EYE_CORNERS = (36, 45)
# Points used for the rigidity fit: everything but the jaw outline (the jaw points slide along
# the face's silhouette and jitter most from frame to frame, on photos as on faces).
STABLE = tuple(range(17, 68))

# ---- Thresholds: measured with `python -m invigilation.vision liveness` (liveness_eval.py) --
# on 3 people's webcam clips (genuine) and wobbled photos (`vision.simulate.wobble`: 5 enrolment
# photos, 20 LFW faces, 6 clip stills, 3 seeds each), 640-px JPEG frames, dlib 68 landmarks.
# Both decisions use `perspective_residual` (a tilted photo is a homography, not an affine
# map; with the homography the photos' residuals fell by ~1/3, the clips' by ~1/10).
# Burst score (see `burst_score`): genuine bursts at 4 fps had a median of ~0.053 and a 5th
# percentile of ~0.029; wobbled photos a median of ~0.011 and a maximum of ~0.026 (one glitch
# frame per burst removed). The tails nearly touch: the threshold sits between them.
LIVE_RESIDUAL = 0.027
# Blink: the eye aspect ratio falls below this fraction of the burst's median and comes back
# above BLINK_RECOVERY of it within the burst. Genuine bursts with a blink dipped to 0.29-0.69
# of their median; wobbled-photo bursts never below 0.78, though one single photo frame in
# the 90-s tracker runs (1 in ~1300) reached 0.60: a blink alone is the weaker evidence.
BLINK_DIP = 0.60
BLINK_RECOVERY = 0.85
MIN_FRAMES = 6  # fewer frames with a face: cannot tell
# In-exam tracker: two frames in a row whose residual against the stored reference exceeds
# this show life (one frame alone may be a detector glitch). At 1 fps, wobbled photos (15
# photos, 90 s each) never exceeded ~0.022 for two frames in a row against their first
# frame; every 60 s window of the 3 clips (played back and forth for 10 min) exceeded ~0.029
# for two frames in a row. 0.025 splits that narrow gap.
TRACK_RESIDUAL = 0.025
# ... or one frame whose eye aspect ratio is below this fraction of the face's usual open-eye
# EAR (a blink caught at 1 fps). Wobbled photos dipped to 0.60 at worst (one frame in 15 x 90).
# A single frame decides here, so the bar is lower than BLINK_DIP.
TRACK_BLINK = 0.5
# The tracker calls a face flat-rigid once no life was shown for this long (s); the rules
# engine then waits its own `liveness_seconds` of uninterrupted "rigid" before flagging.
TRACK_MIN_SECONDS = 5.0
# Frames further apart than this (s) break the evidence (e.g. the stream stopped): start over.
TRACK_MAX_GAP = 30.0

ADVICE = "Move your head slowly from side to side, and blink, while the check runs"


@dataclass(frozen=True)
class BurstLiveness:
    live: bool
    score: float
    reason: str
    measurements: dict = field(default_factory=dict)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None when (nearly) singular."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            f = a[r][col] / a[col][col]
            if f:
                for c in range(col, n + 1):
                    a[r][c] -= f * a[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


def inter_ocular(landmarks: Landmarks) -> float:
    (ax, ay), (bx, by) = (landmarks[i] for i in OUTER_EYE_CORNERS)
    return math.hypot(bx - ax, by - ay)


def _normalise(points: list[Point]) -> tuple[list[Point], float]:
    """Centred on the mean, unit RMS distance: conditions the normal equations."""
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    s = math.sqrt(sum((x - mx) ** 2 + (y - my) ** 2 for x, y in points) / n) or 1.0
    return [((x - mx) / s, (y - my) / s) for x, y in points], s


def affine_residual(
    reference: Landmarks, current: Landmarks, indices: Sequence[int] = STABLE
) -> float:
    """RMS error of the least-squares 2-D affine map reference -> current, / inter-ocular.

    6 parameters (x' = a x + b y + c, y' = d x + e y + f): the x and y rows share one 3x3
    normal matrix. The residual is in `current`'s pixels, divided by `current`'s outer-eye-
    corner distance, so the result is scale-free. 0 for any moved / scaled / rotated / sheared
    copy of the same points.
    """
    ref = [(float(reference[i][0]), float(reference[i][1])) for i in indices]
    cur = [(float(current[i][0]), float(current[i][1])) for i in indices]
    ref_n, _ = _normalise(ref)
    sxx = sum(x * x for x, _ in ref_n)
    sxy = sum(x * y for x, y in ref_n)
    syy = sum(y * y for _, y in ref_n)
    sx = sum(x for x, _ in ref_n)
    sy = sum(y for _, y in ref_n)
    normal = [[sxx, sxy, sx], [sxy, syy, sy], [sx, sy, float(len(ref_n))]]
    squared = 0.0
    for axis in (0, 1):
        target = [p[axis] for p in cur]
        rhs = [
            sum(x * t for (x, _), t in zip(ref_n, target, strict=True)),
            sum(y * t for (_, y), t in zip(ref_n, target, strict=True)),
            sum(target),
        ]
        coef = _solve(normal, rhs)
        if coef is None:
            return math.inf
        a, b, c = coef
        squared += sum(
            (a * x + b * y + c - t) ** 2 for (x, y), t in zip(ref_n, target, strict=True)
        )
    scale = inter_ocular(current)
    if scale <= 0:
        return math.inf
    return math.sqrt(squared / len(ref_n)) / scale


def perspective_residual(
    reference: Landmarks, current: Landmarks, indices: Sequence[int] = STABLE
) -> float:
    """As `affine_residual`, for the best homography (a tilted plane): linear DLT with h33=1.

    Algebraic least squares (8 unknowns), then the RMS transfer error / inter-ocular distance.
    """
    ref = [(float(reference[i][0]), float(reference[i][1])) for i in indices]
    cur = [(float(current[i][0]), float(current[i][1])) for i in indices]
    ref_n, _ = _normalise(ref)
    cur_n, s_cur = _normalise(cur)
    # Normal equations of the rows (x, y, 1, 0, 0, 0, -ux, -uy) = u and
    # (0, 0, 0, x, y, 1, -vx, -vy) = v, from sums of monomials (one pass over the points).
    sxx = sxy = syy = sx = sy = 0.0
    sux = suy = svx = svy = su = sv = 0.0
    suxx = suxy = suyy = svxx = svxy = svyy = 0.0  # u*x*x etc. for the cross blocks
    wxx = wxy = wyy = wx = wy = 0.0  # (u^2 + v^2) * monomials
    for (x, y), (u, v) in zip(ref_n, cur_n, strict=True):
        xx, xy, yy = x * x, x * y, y * y
        sxx += xx
        sxy += xy
        syy += yy
        sx += x
        sy += y
        su += u
        sv += v
        sux += u * x
        suy += u * y
        svx += v * x
        svy += v * y
        suxx += u * xx
        suxy += u * xy
        suyy += u * yy
        svxx += v * xx
        svxy += v * xy
        svyy += v * yy
        r2 = u * u + v * v
        wxx += r2 * xx
        wxy += r2 * xy
        wyy += r2 * yy
        wx += r2 * x
        wy += r2 * y
    n = float(len(ref_n))
    ata = [
        [sxx, sxy, sx, 0.0, 0.0, 0.0, -suxx, -suxy],
        [sxy, syy, sy, 0.0, 0.0, 0.0, -suxy, -suyy],
        [sx, sy, n, 0.0, 0.0, 0.0, -sux, -suy],
        [0.0, 0.0, 0.0, sxx, sxy, sx, -svxx, -svxy],
        [0.0, 0.0, 0.0, sxy, syy, sy, -svxy, -svyy],
        [0.0, 0.0, 0.0, sx, sy, n, -svx, -svy],
        [-suxx, -suxy, -sux, -svxx, -svxy, -svx, wxx, wxy],
        [-suxy, -suyy, -suy, -svxy, -svyy, -svy, wxy, wyy],
    ]
    atb = [sux, suy, su, svx, svy, sv, -wx, -wy]
    h = _solve(ata, atb)
    if h is None:
        return math.inf
    squared = 0.0
    for (x, y), (u, v) in zip(ref_n, cur_n, strict=True):
        w = h[6] * x + h[7] * y + 1.0
        if abs(w) < 1e-9:
            return math.inf
        squared += ((h[0] * x + h[1] * y + h[2]) / w - u) ** 2
        squared += ((h[3] * x + h[4] * y + h[5]) / w - v) ** 2
    scale = inter_ocular(current)
    if scale <= 0:
        return math.inf
    return s_cur * math.sqrt(squared / len(ref_n)) / scale


def eye_aspect_ratio(landmarks: Landmarks) -> float:
    """Soukupova & Cech's EAR, mean of both eyes: ~0.3 open, ~0.1 closed."""

    def one(eye: Sequence[int]) -> float:
        p = [landmarks[i] for i in eye]
        d = lambda a, b: math.hypot(a[0] - b[0], a[1] - b[1])  # noqa: E731
        width = d(p[0], p[3])
        return (d(p[1], p[5]) + d(p[2], p[4])) / (2 * width) if width else 0.0

    return (one(LEFT_EYE) + one(RIGHT_EYE)) / 2


def _pairwise(frames: Sequence[Landmarks]) -> list[list[float]]:
    n = len(frames)
    m = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            r = perspective_residual(frames[i], frames[j])
            # A degenerate fit (e.g. collapsed points) is no evidence of life.
            m[i][j] = m[j][i] = r if math.isfinite(r) else 0.0
    return m


def _median(values: Sequence[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def burst_score(frames: Sequence[Landmarks]) -> float:
    """Largest non-planar change between two frames of the burst, one glitch frame removed.

    `perspective_residual` for every pair of frames; the score is the largest.

    The frame that disagrees most with the others (by its median residual) is dropped first:
    on a photo, dlib sometimes misplaces the points of a single frame; a real head movement
    spans several frames and survives.
    """
    if len(frames) < 3:
        return 0.0
    m = _pairwise(frames)
    n = len(frames)
    worst = max(range(n), key=lambda i: _median([m[i][j] for j in range(n) if j != i]))
    keep = [i for i in range(n) if i != worst]
    return max(m[i][j] for i in keep for j in keep if i < j)


def blinked(ears: Sequence[float]) -> bool:
    """An EAR dip below BLINK_DIP x median, with open eyes (>= BLINK_RECOVERY) before and after."""
    if len(ears) < 3:
        return False
    base = _median(ears)
    if base <= 0:
        return False
    for k, ear in enumerate(ears):
        if ear < BLINK_DIP * base:
            before = any(e >= BLINK_RECOVERY * base for e in ears[:k])
            after = any(e >= BLINK_RECOVERY * base for e in ears[k + 1 :])
            if before and after:
                return True
    return False


def assess_burst(landmark_frames: Sequence[Landmarks]) -> BurstLiveness:
    """Is the one face of a ~3 s check-in burst (8-15 frames' landmarks) live?

    Live when the landmarks changed in a way no flat picture's motion explains (3-D head
    motion, talking: `burst_score` >= LIVE_RESIDUAL) or the eyes blinked.
    """
    frames = [f for f in landmark_frames if f is not None and len(f) == 68]
    if len(frames) < MIN_FRAMES:
        return BurstLiveness(
            False,
            0.0,
            "Keep your face in view of the camera, then move your head slowly from side to "
            "side, and blink, while the check runs",
            {"frames": len(frames), "min_frames": MIN_FRAMES},
        )
    score = burst_score(frames)
    ears = [eye_aspect_ratio(f) for f in frames]
    blink = blinked(ears)
    moved = score >= LIVE_RESIDUAL
    live = moved or blink
    measurements = {
        "frames": len(frames),
        "residual": round(score, 4),
        "threshold": LIVE_RESIDUAL,
        "blink": blink,
        "ear_min": round(min(ears), 3),
        "ear_median": round(_median(ears), 3),
    }
    if live:
        reason = "Live face: head movement seen" if moved else "Live face: a blink seen"
    else:
        reason = ADVICE
    return BurstLiveness(live, round(score, 4), reason, measurements)


def track_rigidity(
    state: dict | None, landmarks: Landmarks | None, at: float
) -> tuple[dict, bool | None]:
    """One exam frame (taken at `at` seconds) for the photo-left-in-view check.

    Returns the new state (JSON-able: one reference landmark set (68 points, 0.1 px) plus
    four numbers) and True when the face has stayed flat-rigid (no life for at least
    TRACK_MIN_SECONDS since the reference was taken), False when this frame showed life, None
    when it cannot tell (no face, too soon, or the stream had a gap).

    The reference is kept for as long as the face stays rigid (up to a homography) against
    it, so a live face's slow drift (a small head turn, talking) accumulates against one
    reference over the whole window; a wobbled photo stays within detector jitter of it for
    ever. Life needs two frames in a row beyond TRACK_RESIDUAL (a single glitch frame does not
    reset), or one frame with the eyes closed (EAR below TRACK_BLINK x the face's usual
    open-eye EAR).
    """
    if landmarks is None or len(landmarks) != 68:
        return (state or {}), None
    current = [(round(float(x), 1), round(float(y), 1)) for x, y in landmarks]
    ear = eye_aspect_ratio(current)
    if not state or "ref" not in state or at - state.get("last", at) > TRACK_MAX_GAP:
        return {"ref": current, "since": at, "last": at, "strikes": 0, "ear": round(ear, 4)}, None
    open_ear = state.get("ear") or ear
    if ear < TRACK_BLINK * open_ear:  # a blink: life; keep the open-eye reference
        return {**state, "since": at, "last": at, "strikes": 0}, False
    if ear >= BLINK_RECOVERY * open_ear:  # follow the open-eye EAR slowly
        open_ear = 0.8 * open_ear + 0.2 * ear
    residual = perspective_residual(state["ref"], current)
    if not math.isfinite(residual):  # degenerate landmarks: no evidence either way
        return {**state, "last": at}, None
    if residual >= TRACK_RESIDUAL:
        if state.get("strikes", 0) >= 1:  # life: start a new window from this frame
            fresh = {"ref": current, "since": at, "last": at, "strikes": 0}
            return {**fresh, "ear": round(open_ear, 4)}, False
        strikes = 1  # one frame alone may be a detector glitch: wait for the next
    else:
        strikes = 0
    new = {**state, "last": at, "strikes": strikes, "ear": round(open_ear, 4)}
    return new, (True if at - state["since"] >= TRACK_MIN_SECONDS else None)
