"""Whole exams run through the product's own check-in, frame analysis and rules, on a
simulated clock, and the flags scored against the scenario's expected events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from invigilation import scenarios, vision
from invigilation.decisions.rules import RuleEvent, SessionRules
from invigilation.vision import check_in_assessment, frame_observation

EPOCH = 1_800_000_000.0  # the simulated clock's zero: the first frame after the check-in
STREAM_GRACE_SECONDS = 90.0  # after a stream that just stops, how long the timer is watched


@dataclass(frozen=True)
class Setup:
    """The exam as the worker would see it (the product's defaults, or an exam's)."""

    rules: Callable[[float], SessionRules]  # a fresh SessionRules for a stream at this fps
    checks: vision.Checks
    identity_every: int
    identity_every_clear: int
    burst_fps: float
    beat_seconds: float  # how often Celery beat looks for stopped streams
    check_liveness: bool = True


def evaluate(scenario: scenarios.Scenario, setup: Setup) -> dict:
    enrolment = vision.enrol([path.read_bytes() for path in scenario.enrolment])
    roster = {
        name: vision.enrol([path.read_bytes() for path in photos]).embeddings
        for name, photos in scenario.roster.items()
    }
    check_in = _check_in(scenario, setup, enrolment)
    anchor = check_in.embeddings if check_in.outcome == check_in_assessment.VERIFIED else None
    references = frame_observation.References(
        enrolment=enrolment if enrolment.ok else None,
        anchor=anchor,
        roster=(lambda: {k: v for k, v in roster.items() if len(v)}) if roster else None,
    )
    events = _stream(scenario, setup, references)
    flags = [_flag(event) for event in events]
    matched, missed, false_flags = score(scenario.expect, flags)
    outcome = _reported_outcome(check_in.outcome)
    return {
        "name": scenario.name,
        "file": str(scenario.path),
        "seconds": scenario.seconds,
        "honest": scenario.honest,
        "check_in": outcome,
        "expect_check_in": scenario.expect_check_in,
        "check_in_ok": (outcome == "verified") == (scenario.expect_check_in == "verified"),
        "check_in_evidence": {"distance": check_in.distance, **check_in.evidence},
        "flags": flags,
        "matched": matched,
        "missed": missed,
        "false_flags": false_flags,
    }


def _check_in(scenario, setup: Setup, enrolment) -> check_in_assessment.Assessment:
    return _assess_burst(scenario.check_in, setup, enrolment)


def _assess_burst(segment: dict, setup: Setup, enrolment) -> check_in_assessment.Assessment:
    """The check-in burst the camera would record of `segment`, judged as the worker does."""
    burst = [jpeg for _, jpeg in scenarios.frames([segment], setup.burst_fps)]
    return check_in_assessment.assess_check_in(
        burst, enrolment=enrolment if enrolment.ok else None, check_liveness=setup.check_liveness
    )


def check_in_sweep(loaded: list[scenarios.Scenario], setup: Setup) -> dict:
    """Every genuine check-in the scenarios' clips allow: for each (enrolment, clip) of a
    scenario whose check-in is a clip and is expected to verify, a burst starting at each
    whole second of the clip."""
    pairs = {
        (tuple(s.enrolment), s.check_in["video"]): s
        for s in loaded
        if "video" in s.check_in and s.expect_check_in == "verified"
    }
    outcomes: list[dict] = []
    for (photos, clip), scenario in pairs.items():
        enrolment = vision.enrol([path.read_bytes() for path in photos])
        seconds = scenario.check_in["seconds"]
        for start in range(int(scenarios.clip_seconds(clip) - seconds) + 1):
            segment = {"video": clip, "start": float(start), "seconds": seconds}
            assessment = _assess_burst(segment, setup, enrolment)
            outcomes.append({"clip": clip.name, "enrolment": [p.name for p in photos],
                             "start": start, "outcome": _reported_outcome(assessment.outcome),
                             "distance": assessment.distance})  # fmt: skip
    verified = sum(o["outcome"] == "verified" for o in outcomes)
    return {"verified": verified, "check_ins": len(outcomes), "attempts": outcomes}


def _reported_outcome(outcome: str) -> str:
    # The four verdicts a scenario reports; an unusable burst did not verify anyone.
    return "not_verified" if outcome == check_in_assessment.UNUSABLE else outcome


def _stream(scenario, setup: Setup, references) -> list[RuleEvent]:
    """Each frame as the worker handles it, and Celery beat's stopped-stream check between."""
    rules = setup.rules(scenario.fps)
    events: list[RuleEvent] = []
    next_beat = setup.beat_seconds
    last = 0.0
    for index, (at, jpeg) in enumerate(scenarios.frames(scenario.timeline, scenario.fps)):
        while next_beat <= at:
            events += _beat(rules, next_beat)
            next_beat += setup.beat_seconds
        due = rules.identity_due(
            index, every=setup.identity_every, every_clear=setup.identity_every_clear
        )
        checks = setup.checks.with_identity(due)
        result = frame_observation.analyse(jpeg, references, checks)
        events += rules.observe(frame_observation.frame_result(result, EPOCH + at, references))
        last = at
    if not scenario.finish:  # the stream just stops: beat keeps looking
        end = last + STREAM_GRACE_SECONDS
        while next_beat <= end:
            events += _beat(rules, next_beat)
            next_beat += setup.beat_seconds
    return events


def _beat(rules: SessionRules, at: float) -> list[RuleEvent]:
    event = rules.check_stream(EPOCH + at)
    return [event] if event else []


def _flag(event: RuleEvent) -> dict:
    flag = {"kind": event.kind, "at": round(event.at - EPOCH, 1), "confidence": event.confidence}
    if event.measurements.get("matches"):
        flag["matches"] = event.measurements["matches"]
    return flag


def score(expect: list[scenarios.Expectation], flags: list[dict]) -> tuple[list, list, list]:
    """Each expectation takes the first unused flag that covers it; the rest are false."""
    used: set[int] = set()
    matched, missed = [], []
    for expectation in expect:
        for index, flag in enumerate(flags):
            covers = expectation.covers(flag["kind"], flag["at"], flag.get("matches"))
            if index not in used and covers:
                used.add(index)
                matched.append({**_expectation(expectation), "flag": flag})
                break
        else:
            missed.append(_expectation(expectation))
    false_flags = [flag for index, flag in enumerate(flags) if index not in used]
    return matched, missed, false_flags


def _expectation(expectation: scenarios.Expectation) -> dict:
    out = {"kind": expectation.kind, "from": expectation.start, "within": expectation.within}
    if expectation.matches:
        out["matches"] = expectation.matches
    return out


def summary(results: list[dict]) -> dict:
    expected = sum(len(r["matched"]) + len(r["missed"]) for r in results)
    honest_hours = sum(r["seconds"] for r in results if r["honest"]) / 3600
    honest_false = sum(len(r["false_flags"]) for r in results if r["honest"])
    all_hours = sum(r["seconds"] for r in results) / 3600
    all_false = sum(len(r["false_flags"]) for r in results)
    return {
        "scenarios": len(results),
        "expected_events": expected,
        "caught": sum(len(r["matched"]) for r in results),
        "missed": sum(len(r["missed"]) for r in results),
        "false_flags": all_false,
        "student_hours": round(all_hours, 3),
        "false_flags_per_10_hours": round(10 * all_false / all_hours, 2) if all_hours else None,
        "honest_student_hours": round(honest_hours, 3),
        "honest_false_flags": honest_false,
        "honest_false_flags_per_10_hours": (
            round(10 * honest_false / honest_hours, 2) if honest_hours else None
        ),
        "check_ins_right": sum(r["check_in_ok"] for r in results),
        "check_ins": len(results),
    }
