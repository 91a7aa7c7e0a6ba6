"""The rules engine: turns a student's stream of frame results into flag events.

Pure Python (no Django, no ORM) so it is tested alone. No rule fires on a single frame:
each watches a condition over a time window (or a run of consecutive checks) and, once it
has fired, stays quiet until the condition has been clear for a while (hysteresis), so a
student who keeps looking away gets one flag per episode, not one per frame.
The state is a small JSON-able dict, kept between frames by the caller (e.g. in Redis).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from invigilation.decisions import identity, liveness

NEGATIVE_EXPRESSIONS = ("angry", "fear", "surprise")
# The identity schedule (`SessionRules.identity_due`): every 3rd frame while the sequential test
# holds evidence (the rate it was calibrated at), every 10th while it holds none.
IDENTITY_CHECK_EVERY = 3
IDENTITY_CHECK_EVERY_CLEAR = 10


def impostor_probability(distance: float) -> float:
    """P(the face is not the enrolled student | distance to an enrolment photo), LFW-fitted."""
    return identity.probability(identity.PHOTO_MODEL.llr(distance))


@dataclass(frozen=True)
class FrameResult:
    """What one analysed frame says; None where a check was not run."""

    at: float  # seconds since the epoch, when the frame was captured
    face_count: int
    identity_match: bool | None = None
    identity_distance: float | None = None  # to the nearest enrolment photo
    anchor_distance: float | None = None  # to the nearest face of the verified check-in
    roster_match: str | None = None  # another enrolled student whose face this is, if any
    landmarks: tuple[tuple[float, float], ...] | None = None  # the single face's 68 points
    yaw: float | None = None
    pitch: float | None = None
    expression: dict[str, float] | None = None
    brightness: float | None = None
    sharpness: float | None = None
    rigid: bool | None = None  # set by the rules from the landmarks: flat-rigid like a photo
    # Set by the rules: the student's usual negative-expression score so far (None: too few
    # frames yet to know what is usual for this face).
    expression_baseline: float | None = None


@dataclass(frozen=True)
class RuleSettings:
    """Per-exam thresholds; a rule whose switch is off never fires."""

    presence: bool = True
    no_face_seconds: float = 10.0
    multiple_faces: bool = True
    multiple_faces_seconds: float = 3.0
    identity: bool = True
    mismatch_checks: int = 3  # identity checks in a row, at least, before a mismatch flag
    identity_evidence: float = 6.0  # nats of evidence (CUSUM) that the face is not the student
    gaze: bool = True
    looking_away_seconds: float = 8.0
    yaw_limit: float = 35.0
    pitch_limit: float = 25.0
    expression: bool = True
    expression_seconds: float = 20.0
    expression_threshold: float = 0.6
    # ... and this far above the student's own usual score: some faces read as surprised or
    # fearful to the model all the time, and are not flagged for their face.
    expression_above_usual: float = 0.25
    expression_baseline_frames: int = 30  # frames with an expression before the rule can fire
    camera: bool = True
    dark_brightness: float = 35.0
    camera_seconds: float = 5.0
    liveness: bool = True
    liveness_seconds: float = 60.0  # a face flat and rigid this long: a photo left in view
    check_in_attempts: int = 3  # check-in bursts without a live face before it is flagged
    stream_stopped_seconds: float = 20.0
    clear_seconds: float = 5.0  # a fired rule re-arms after its condition is clear this long


@dataclass(frozen=True)
class RuleEvent:
    kind: str
    severity: int  # 1 low, 2 medium, 3 high
    started_at: float
    at: float
    confidence: float
    message: str
    measurements: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Episode:
    """One rule's state: when its condition started holding, how often, whether it fired."""

    since: float | None = None
    count: int = 0
    clear_since: float | None = None
    fired: bool = False
    peak: float = 0.0
    total: float = 0.0  # of the strengths, for their mean

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


@dataclass(frozen=True)
class _Rule:
    kind: str
    severity: int
    enabled: Callable[[RuleSettings], bool]
    # The condition's strength in this frame (0 when it does not hold), or None when the
    # frame cannot tell (the check was not run): such frames neither extend nor clear it.
    strength: Callable[[FrameResult, RuleSettings], float | None]
    due: Callable[[_Episode, float, RuleSettings], bool]
    message: Callable[[_Episode, float], str]
    # How clearly past its threshold the condition was, from the episode's mean strength:
    # 0.5 at the threshold, up to 1 (a face count has no degree: always 1).
    clarity: Callable[[float, RuleSettings], float] = lambda mean, s: 1.0


def _past(excess: float) -> float:
    """0.5 at a threshold, rising to 1 at `excess` 1 (a full threshold's worth past it)."""
    return 0.5 + 0.5 * max(0.0, min(1.0, excess))


def _seconds(limit: Callable[[RuleSettings], float]):
    return lambda episode, now, s: episode.since is not None and now - episode.since >= limit(s)


def _lasting(label: str) -> Callable[[_Episode, float], str]:
    return lambda episode, now: f"{label} for {now - episode.since:.0f} s"


def _no_face(frame: FrameResult, s: RuleSettings) -> float:
    return 1.0 if frame.face_count == 0 and not _is_dark(frame, s) else 0.0


def _many_faces(frame: FrameResult, s: RuleSettings) -> float:
    return float(frame.face_count) if frame.face_count > 1 else 0.0


def _looking_away(frame: FrameResult, s: RuleSettings) -> float | None:
    if frame.face_count != 1 or frame.yaw is None:
        return None
    excess = max(abs(frame.yaw) / s.yaw_limit, abs(frame.pitch or 0.0) / s.pitch_limit)
    return excess if excess > 1.0 else 0.0


def negative_score(expression: Mapping[str, float]) -> float:
    """The summed probability of the negative expressions: what the expression rule watches."""
    return sum(expression.get(name, 0.0) for name in NEGATIVE_EXPRESSIONS)


def _negative_score(frame: FrameResult) -> float | None:
    if frame.face_count != 1 or frame.expression is None:
        return None
    return negative_score(frame.expression)


def _negative_expression(frame: FrameResult, s: RuleSettings) -> float | None:
    score = _negative_score(frame)
    if score is None or frame.expression_baseline is None:
        return None
    unusual = score - frame.expression_baseline >= s.expression_above_usual
    return score if score >= s.expression_threshold and unusual else 0.0


def _rigid(frame: FrameResult, s: RuleSettings) -> float | None:
    return None if frame.rigid is None else float(frame.rigid)


def _is_dark(frame: FrameResult, s: RuleSettings) -> bool:
    return frame.brightness is not None and frame.brightness < s.dark_brightness


def _dark(frame: FrameResult, s: RuleSettings) -> float | None:
    if frame.brightness is None:
        return None
    if not _is_dark(frame, s):
        return 0.0
    return max(1e-6, (s.dark_brightness - frame.brightness) / s.dark_brightness)


RULES = (
    _Rule("no_face", 2, lambda s: s.presence, _no_face,
          _seconds(lambda s: s.no_face_seconds), _lasting("No face in view")),
    _Rule("multiple_faces", 3, lambda s: s.multiple_faces, _many_faces,
          _seconds(lambda s: s.multiple_faces_seconds), _lasting("More than one face")),
    _Rule("looking_away", 1, lambda s: s.gaze, _looking_away,
          _seconds(lambda s: s.looking_away_seconds), _lasting("Looking away"),
          lambda ratio, s: _past(ratio - 1)),
    _Rule("expression", 1, lambda s: s.expression, _negative_expression,
          _seconds(lambda s: s.expression_seconds), _lasting("Strong angry/fearful/surprised look"),
          lambda score, s: _past((score - s.expression_threshold) / (1 - s.expression_threshold))),
    _Rule("camera_blocked", 2, lambda s: s.camera, _dark,
          _seconds(lambda s: s.camera_seconds), _lasting("Camera covered or too dark"),
          lambda darkness, s: _past(darkness)),
    _Rule("liveness_failed", 2, lambda s: s.liveness, _rigid,
          _seconds(lambda s: s.liveness_seconds),
          _lasting("Face flat and rigid, like a photo or a screen,")),
)  # fmt: skip


def _frame_summary(frame: FrameResult) -> dict[str, Any]:
    """The frame's measurements for a flag's evidence (landmarks left out: 136 numbers)."""
    return {k: v for k, v in asdict(frame).items() if v is not None and k != "landmarks"}


class SessionRules:
    """Rule state for one exam session; feed it frames in time order."""

    def __init__(
        self, settings: RuleSettings, state: dict | None = None, frame_interval: float = 0.0
    ) -> None:
        """`frame_interval`: the seconds between frames the stream should deliver (the exam's
        rate); duration rules' confidence counts the frames seen against it. 0: not known."""
        self.settings = settings
        self.frame_interval = frame_interval
        state = state or {}
        self.episodes = {rule.kind: _Episode(**state.get(rule.kind, {})) for rule in RULES}
        self.identity = identity.SequentialTest(**state.get("identity_test", {}))
        self.rigidity: dict | None = state.get("rigidity")
        # The student's negative-expression scores so far: [frames, sum], for their mean.
        self.expression_usual: list[float] = state.get("expression_usual", [0, 0.0])
        self.last_frame_at: float | None = state.get("last_frame_at")
        self.last_face_count: int | None = state.get("last_face_count")
        self.stream_flagged: bool = state.get("stream_flagged", False)

    def state(self) -> dict:
        return {
            **{kind: asdict(episode) for kind, episode in self.episodes.items()},
            "identity_test": self.identity.state(),
            "rigidity": self.rigidity,
            "expression_usual": self.expression_usual,
            "last_frame_at": self.last_frame_at,
            "last_face_count": self.last_face_count,
            "stream_flagged": self.stream_flagged,
        }

    def observe(self, frame: FrameResult) -> list[RuleEvent]:
        if self.last_frame_at is not None and frame.at < self.last_frame_at:
            return []  # a late, out-of-order frame: the stream has moved on
        self.last_frame_at = frame.at
        self.last_face_count = frame.face_count
        self.stream_flagged = False
        frame = self._with_expression_baseline(self._with_rigidity(frame))
        events = [event for event in [self._identity_step(frame)] if event]
        for rule in RULES:
            if rule.enabled(self.settings):
                event = self._step(rule, frame)
                if event:
                    events.append(event)
        return events

    def identity_due(self, index: int, *, every: int, every_clear: int) -> bool:
        """Whether the `index`-th frame of the stream gets an identity check. While the
        sequential test holds no evidence, a check can only open an episode (one that looks
        like the student leaves it at zero), so it runs every `every_clear`-th frame; while it
        holds some, at the calibrated `every`; and on the first frame after one without a face,
        where someone else may have sat down."""
        if self.identity.score > 0:
            return index % every == 0
        return self.last_face_count == 0 or index % every_clear == 0

    def _with_rigidity(self, frame: FrameResult) -> FrameResult:
        if not self.settings.liveness or frame.face_count != 1 or frame.landmarks is None:
            return frame
        self.rigidity, rigid = liveness.track_rigidity(self.rigidity, frame.landmarks, frame.at)
        return replace(frame, rigid=rigid)

    def _with_expression_baseline(self, frame: FrameResult) -> FrameResult:
        """The mean score of the frames before this one; this frame then joins it. While the
        identity test holds evidence that the face is someone else's, the student's usual says
        nothing about it: the frame is neither judged against it nor added to it."""
        score = _negative_score(frame)
        if score is None or self.identity.score > 0:
            return frame
        count, total = self.expression_usual
        self.expression_usual = [count + 1, total + score]
        if count < self.settings.expression_baseline_frames:
            return frame
        return replace(frame, expression_baseline=total / count)

    def _identity_step(self, frame: FrameResult) -> RuleEvent | None:
        """One identity check into the sequential test; an event when it crosses."""
        s = self.settings
        if not s.identity or frame.face_count != 1:
            return None
        if _looking_away(frame, s):
            return None  # a face turned far away embeds poorly: no evidence either way
        check = identity.IdentityCheck(frame.identity_distance, frame.anchor_distance)
        judged = identity.evidence(check)
        if judged is None:
            return None
        llr, distance = judged
        test = self.identity
        fired = test.update(
            llr, distance, frame.at, threshold=s.identity_evidence,
            min_checks=int(s.mismatch_checks), roster_match=frame.roster_match,
        )  # fmt: skip
        if not fired:
            return None
        anchored = frame.anchor_distance is not None
        model = identity.SESSION_MODEL if anchored else identity.PHOTO_MODEL
        p_impostor = identity.probability(model.llr(test.mean_distance))
        matches = test.matched()
        message = f"Face is not the enrolled student's ({test.checks} checks in a row)"
        if matches:
            message += f"; it matches {matches}, who is enrolled in this exam"
        return RuleEvent(
            kind="identity_mismatch",
            severity=3,
            started_at=test.since,
            at=frame.at,
            confidence=round(p_impostor, 3),
            message=message,
            measurements={
                "checks": test.checks,
                "evidence": round(test.score, 2),
                "distance": round(test.mean_distance, 4),
                "judged_against": "session" if anchored else "enrolment photo",
                # This check's distances to each reference (the mean above is what was judged).
                "enrolment_distance": frame.identity_distance,
                "anchor_distance": frame.anchor_distance,
                "p_impostor": round(p_impostor, 3),
                "matches": matches,
                "frame": _frame_summary(frame),
            },
        )

    def _coverage(self, episode: _Episode, now: float) -> float:
        """Share of the episode's span seen holding: its frames against those the exam's rate
        should have delivered (frames lost, dropped or sent late lower it)."""
        if not self.frame_interval:
            return 1.0
        expected = (now - episode.since) / self.frame_interval + 1
        return min(1.0, episode.count / expected)

    def _step(self, rule: _Rule, frame: FrameResult) -> RuleEvent | None:
        episode = self.episodes[rule.kind]
        strength = rule.strength(frame, self.settings)
        if strength is None:
            return None
        if strength > 0:
            if episode.since is None:
                episode.since, episode.count, episode.peak, episode.total = frame.at, 0, 0.0, 0.0
            episode.count += 1
            episode.peak = max(episode.peak, strength)
            episode.total += strength
            episode.clear_since = None
            if not episode.fired and rule.due(episode, frame.at, self.settings):
                episode.fired = True
                return self._event(rule, episode, frame)
            return None
        if episode.clear_since is None:
            episode.clear_since = frame.at
        # Hysteresis: an episode that fired ends only after a clear spell; one that never
        # fired ends at once, so an interrupted condition starts counting again.
        if not episode.fired or frame.at - episode.clear_since >= self.settings.clear_seconds:
            self.episodes[rule.kind] = _Episode()
        return None

    def _event(self, rule: _Rule, episode: _Episode, frame: FrameResult) -> RuleEvent:
        duration = frame.at - episode.since
        measurements = {
            "frames": episode.count,
            "seconds": round(duration, 1),
            "peak": round(episode.peak, 3),
            "mean": round(episode.mean, 3),
            "frame": _frame_summary(frame),
        }
        confidence = rule.clarity(episode.mean, self.settings)
        coverage = self._coverage(episode, frame.at)
        measurements["coverage"] = round(coverage, 3)
        confidence *= coverage
        return RuleEvent(
            kind=rule.kind,
            severity=rule.severity,
            started_at=episode.since,
            at=frame.at,
            confidence=round(confidence, 3),
            message=rule.message(episode, frame.at),
            measurements=measurements,
        )

    def check_stream(self, now: float) -> RuleEvent | None:
        """Called on a timer: flags a stream that stopped sending frames, once per gap."""
        if self.last_frame_at is None or self.stream_flagged:
            return None
        silent = now - self.last_frame_at
        if silent < self.settings.stream_stopped_seconds:
            return None
        self.stream_flagged = True
        threshold = self.settings.stream_stopped_seconds
        return RuleEvent(
            kind="stream_stopped",
            severity=2,
            started_at=self.last_frame_at,
            at=now,
            # Seen late (the check runs every few seconds) is surer than just past the limit.
            confidence=round(_past((silent - threshold) / threshold), 3),
            message=f"No frames received for {silent:.0f} s",
            measurements={"seconds": round(silent, 1)},
        )
