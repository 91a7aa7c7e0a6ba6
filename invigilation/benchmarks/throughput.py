"""Frames per second real Celery workers sustain when offered more than they can take."""

import time
from pathlib import Path

import numpy as np
import redis
from django.conf import settings

from invigilation.benchmarks.environment import start_worker, stop
from invigilation.benchmarks.report import table
from invigilation.benchmarks.scenario import create_exam, webcam_jpegs
from invigilation.proctoring import frames
from invigilation.proctoring.ingest import FrameRefused, accept_frame
from invigilation.proctoring.models import FrameRecord


def run(
    *,
    env: dict[str, str],
    video: Path,
    workers: list[int],
    students: int = 40,
    fps: float = 2.0,
    seconds: float = 60.0,
    warmup: float = 15.0,
    log_dir: Path,
) -> list[dict]:
    jpegs = webcam_jpegs(video)
    rows = []
    for concurrency in workers:
        _, sessions = create_exam(
            title=f"throughput-{concurrency}", students=students, enrol_with=jpegs[0],
            sampling_fps=fps,
        )  # fmt: skip
        worker = start_worker(env, concurrency, log_dir / f"worker-{concurrency}.log")
        try:
            row = _offer_frames(sessions, jpegs, fps, seconds, warmup)
        finally:
            stop(worker)
        rows.append({"worker_processes": concurrency, "students": students,
                     "offered_fps": students * fps, **row})  # fmt: skip
    return rows


def _offer_frames(sessions, jpegs, fps, seconds, warmup) -> dict:
    """Round-robin over the students at `fps` each, as the frame endpoint would get them."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    gap = 1 / (fps * len(sessions))
    start = time.monotonic()
    next_at, i, sent, queue = start, 0, 0, []
    measured = None
    while (now := time.monotonic()) < start + warmup + seconds:
        if measured is None and now >= start + warmup:
            measured = (now, _analysed(sessions), sent, _dropped(sessions))
        time.sleep(max(0.0, next_at - now))
        next_at += gap
        session = sessions[i % len(sessions)]
        try:
            accept_frame(session=session, jpeg=jpegs[(i // len(sessions)) % len(jpegs)])
            sent += 1 if measured else 0
        except FrameRefused:
            pass  # the pacing keeps to the rate limit; a late tick may still hit it
        i += 1
        if i % len(sessions) == 0:
            queue.append(broker.llen("celery"))
    t0, analysed0, _, dropped0 = measured
    elapsed = time.monotonic() - t0
    analysed = _analysed(sessions) - analysed0
    timings = FrameRecord.objects.filter(session__in=sessions).values_list("timings_ms", flat=True)
    return {
        "frames_offered": sent,
        "frames_analysed": analysed,
        "analysed_fps": round(analysed / elapsed, 2),
        "dropped": _dropped(sessions) - dropped0,
        "max_queue": max(queue, default=0),
        "vision_ms_mean": round(float(np.mean([t["total"] for t in timings])), 1),
    }


def _analysed(sessions) -> int:
    return FrameRecord.objects.filter(session__in=sessions).count()


def _dropped(sessions) -> int:
    return sum(frames.dropped_frames(s) for s in sessions)


def markdown(rows: list[dict]) -> str:
    columns = [
        ("worker_processes", "worker processes"), ("students", "students"),
        ("offered_fps", "offered fps"), ("frames_offered", "frames offered"),
        ("frames_analysed", "analysed"), ("analysed_fps", "analysed fps"),
        ("dropped", "dropped (counted)"), ("max_queue", "max Celery queue"),
        ("vision_ms_mean", "vision ms/frame"),
    ]  # fmt: skip
    return table(rows, columns)
