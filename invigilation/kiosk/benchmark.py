"""Kiosk throughput on one core: identifying one face among a 300-student roster (1:N), against
the 1:1 verification of the same face measured in the same run, and the worker's whole verdict
on a kiosk burst (liveness, embeddings, identification). No Django, no database.

    .venv/bin/python -m invigilation.kiosk.benchmark [--data ../shared/data] [--roster 300]

The roster is real: one lfw-dev photo per person, embedded by the product's pipeline; the probe
is another photo of a roster member. The burst is 3 s of video/d9.mp4 at 4 frames/s."""

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from invigilation import vision
from invigilation.kiosk.identification import identify_burst
from invigilation.vision import hall

BURST_FPS = 4
BURST_FRAMES = 12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[2]
    parser.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--roster", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    _one_core()
    vision.warm_up()
    roster, probe_name, probe = _roster(args.data / "lfw-dev" / "images", args.roster)
    print(f"machine: {_cpu()}, {os.cpu_count()} CPUs (pinned to 1), "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"roster: {len(roster)} students (lfw-dev, one photo each); probe: {probe_name}")
    one_to_n = _median_ms(lambda: hall.identify(probe, roster), args.repeat)
    enrolment = vision.Enrolment(np.stack(roster[probe_name]))
    one_to_one = _median_ms(lambda: vision.verify(probe, enrolment), args.repeat)
    found = hall.identify(probe, roster)
    ratio = one_to_n / one_to_one
    print(f"identify 1:{len(roster)}: {one_to_n:.3f} ms (median of {args.repeat}); verify 1:1 "
          f"of the same face: {one_to_one:.3f} ms; ratio {ratio:.1f}x; identified "
          f"{found.student} at {found.distance:.3f}, margin {found.margin:.3f}")  # fmt: skip
    _burst(args.data / "video" / "d9.mp4", roster, probe_name)


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _one_core() -> None:
    """One worker process = one core, as the Celery worker runs it."""
    import torch  # noqa: PLC0415 - only to pin its threads

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def _roster(images: Path, size: int) -> tuple[dict[str, list[np.ndarray]], str, np.ndarray]:
    """`size` people, one embedded photo each; the probe: a second photo of the first person
    who has one."""
    people = sorted(p for p in images.iterdir() if p.is_dir())
    roster: dict[str, list[np.ndarray]] = {}
    probe_name, probe = "", None
    for person in people:
        photos = sorted(person.glob("*.jpg"))
        embedding = _embedding(photos[0])
        if embedding is None:
            continue
        roster[person.name] = [embedding]
        if probe is None and len(photos) > 1:
            probe_name, probe = person.name, _embedding(photos[1])
        if len(roster) == size:
            break
    if probe is None:
        raise SystemExit("no roster member with a second photo to probe with")
    return roster, probe_name, probe


def _embedding(photo: Path) -> np.ndarray | None:
    checked = vision.check_enrolment_photo(photo.read_bytes())
    return checked.embedding if checked.ok else None


def _median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def _burst(clip: Path, roster: dict[str, list[np.ndarray]], probe_name: str) -> None:
    """The worker's verdict on a kiosk burst of a student enrolled (from the clip's first
    frame) in the roster, replacing the probe's person (the roster keeps its size)."""
    capture = cv2.VideoCapture(str(clip))
    step = max(1, round((capture.get(cv2.CAP_PROP_FPS) or 30) / BURST_FPS))
    wanted = islice(_frames(capture, step), 2 * BURST_FRAMES)
    frames = [cv2.imencode(".jpg", _fit(image))[1].tobytes() for image in wanted]
    enrolled = vision.check_enrolment_photo(frames[0]).embedding
    roster = {**{k: v for k, v in roster.items() if k != probe_name}, "student": [enrolled]}
    burst = frames[BURST_FRAMES : 2 * BURST_FRAMES]  # from 3 s in: the head turns
    times, judged = [], None
    for _ in range(3):
        started = time.perf_counter()
        judged = identify_burst(burst, roster, check_liveness=True)
        times.append(1000 * (time.perf_counter() - started))
    found = judged.found
    print(f"kiosk burst ({len(burst)} frames, 640 px) -> verdict: "
          f"{statistics.median(times):.0f} ms (median of 3); outcome "
          f"{judged.assessment.outcome}, identified {found.student if found else None} "
          f"at {found.distance if found else float('nan'):.3f} (the mean of "
          f"{len(judged.assessment.embeddings)} faces)")  # fmt: skip


def _frames(capture: cv2.VideoCapture, step: int):
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            return
        if index % step == 0:
            yield image
        index += 1


def _fit(image: np.ndarray) -> np.ndarray:
    scale = min(1.0, 640 / max(image.shape[:2]))
    return cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image


if __name__ == "__main__":
    main()
