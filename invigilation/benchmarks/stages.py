"""Per-frame cost by stage, in one process on one thread, through the product's own code."""

import time
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from invigilation import vision
from invigilation.benchmarks.report import percentiles, table
from invigilation.benchmarks.scenario import create_exam, webcam_jpegs
from invigilation.proctoring.frame_processing import process_latest_frame
from invigilation.proctoring.ingest import accept_frame
from invigilation.vision.timing import StageTimer

# In pipeline order: the frame endpoint's work, the worker's vision stages, then the rest.
STAGES = (
    "ingest", "fetch", "decode", "detect", "embed", "verify", "expression", "pose", "quality",
    "rules", "persist", "flag", "push",
)  # fmt: skip
FPS = 5.0  # the exam's highest allowed rate: frames are paced to pass the rate limit


def run(*, video: Path, frames: int = 150, warmup: int = 10) -> dict:
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    vision.warm_up()
    jpegs = webcam_jpegs(video, warmup + frames)
    _, [session] = create_exam(title="stages", students=1, enrol_with=jpegs[0], sampling_fps=FPS)
    per_frame, next_at = [], 0.0
    for i, jpeg in enumerate(tqdm(jpegs, desc="frames", unit="frame")):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at = time.monotonic() + 1 / FPS
        timer = StageTimer()
        with timer.stage("ingest"):  # the endpoint's checks, the Redis write, the task queued
            accept_frame(session=session, jpeg=jpeg)
        record = process_latest_frame(session_id=session.pk, timer=timer)
        if i >= warmup:
            vision_ms = {k: v for k, v in record.timings_ms.items() if k != "total"}
            per_frame.append({**vision_ms, **timer.ms})
    return summarise(per_frame, video)


def summarise(per_frame: list[dict], video: Path) -> dict:
    rows = []
    for stage in STAGES:
        values = [f.get(stage, 0.0) for f in per_frame]
        ran = [f[stage] for f in per_frame if stage in f]
        rows.append({
            "stage": stage, "mean_ms": round(float(np.mean(values)), 2),
            **percentiles(values, (50, 95)), "frames_with_stage": len(ran),
            "ms_when_run": round(float(np.mean(ran)), 2) if ran else None,
        })  # fmt: skip
    totals = [sum(f.get(s, 0.0) for s in STAGES) for f in per_frame]
    worker = [sum(f.get(s, 0.0) for s in STAGES if s != "ingest") for f in per_frame]
    rows.append({"stage": "**total per frame**", "mean_ms": round(float(np.mean(totals)), 2),
                 **percentiles(totals, (50, 95)), "frames_with_stage": len(totals)})  # fmt: skip
    return {
        "video": str(video),
        "frames": len(per_frame),
        "stages": rows,
        "worker_ms_mean": round(float(np.mean(worker)), 2),
        "worker_ms_p95": percentiles(worker, (95,))["p95"],
    }


def markdown(result: dict) -> str:
    columns = [("stage", "stage"), ("mean_ms", "mean ms"), ("p50", "p50 ms"), ("p95", "p95 ms"),
               ("frames_with_stage", "frames run"), ("ms_when_run", "ms when run")]  # fmt: skip
    return (
        f"{result['frames']} frames of `{result['video']}` at 640x480, one thread.\n\n"
        + table(result["stages"], columns)
        + f"\nWorker share (all but ingest): mean {result['worker_ms_mean']} ms, "
        f"p95 {result['worker_ms_p95']} ms per frame.\n"
    )
