"""python -m invigilation.benchmarks {stages,throughput,latency,load,dashboard,hostile,checkins}

Each command prints a Markdown table and writes the full result as JSON under --out.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from invigilation.benchmarks.environment import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    ROOT,
    BenchmarkError,
    configure,
)

VIDEO = ROOT.parent / "shared" / "data" / "video"


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m invigilation.benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    scratch = "scratch database, dropped and recreated (its name must contain 'bench')"
    p.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help=scratch)
    p.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="scratch Redis db, flushed")
    p.add_argument("--out", type=Path, default=ROOT / "var" / "benchmarks")
    sub = p.add_subparsers(dest="command", required=True)
    stages = sub.add_parser("stages", help="per-frame cost by stage, one thread")
    stages.add_argument("--video", type=Path, default=VIDEO / "d13.mp4")
    stages.add_argument("--frames", type=int, default=150)
    through = sub.add_parser("throughput", help="frames/s sustained by real Celery workers")
    through.add_argument("--video", type=Path, default=VIDEO / "d9.mp4")
    through.add_argument("--workers", type=_ints, default=[1, 2], help="process counts, e.g. 1,2")
    through.add_argument("--students", type=int, default=40)
    through.add_argument("--fps", type=float, default=2.0, help="frames/s offered per student")
    through.add_argument("--seconds", type=float, default=60.0)
    latency = sub.add_parser("latency", help="frame POST to invigilator WebSocket, p50/p95/p99")
    latency.add_argument("--genuine", type=Path, default=VIDEO / "d9.mp4")
    latency.add_argument("--impostor", type=Path, default=VIDEO / "d6.mp4")
    latency.add_argument("--students", type=_ints, default=[1, 10, 50], help="e.g. 1,10,50")
    latency.add_argument("--seconds", type=float, default=60.0)
    latency.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    load = sub.add_parser("load", help="exam-day load: connections/s, frames lost, p95s")
    load.add_argument("--genuine", type=Path, default=VIDEO / "d9.mp4")
    load.add_argument("--impostor", type=Path, default=VIDEO / "d6.mp4")
    load.add_argument("--students", type=int, default=50)
    load.add_argument("--invigilators", type=int, default=3, help="each polls and holds a socket")
    load.add_argument("--poll-every", type=float, default=3.0, help="seconds between flag polls")
    load.add_argument("--seconds", type=float, default=120.0)
    load.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    board = sub.add_parser("dashboard", help="live dashboard in headless Chromium: load, updates")
    board.add_argument("--video", type=Path, default=VIDEO / "d9.mp4", help="enrolment face")
    board.add_argument("--students", type=_ints, default=[0, 50, 200], help="e.g. 0,50,200")
    board.add_argument("--alerts-per-student", type=int, default=5)
    board.add_argument("--loads", type=int, default=5, help="page loads measured per exam")
    board.add_argument("--rounds", type=int, default=10, help="seconds of statuses pushed")
    board.add_argument("--flags", type=int, default=200, help="new flags pushed")
    board.add_argument("--screenshots", type=Path, default=Path("/tmp"))
    hostile = sub.add_parser("hostile", help="/healthz and memory under slow and huge uploads")
    hostile.add_argument("--seconds", type=float, default=25.0, help="per phase")
    hostile.add_argument("--uploads", type=int, default=3, help="anonymous uploaders")
    hostile.add_argument("--upload-mib", type=int, default=100)
    hostile.add_argument("--drips", type=int, default=300, help="slow-drip connections")
    checkins = sub.add_parser("checkins", help="a hall checking in at once: time to verdict")
    checkins.add_argument("--genuine", type=Path, default=VIDEO / "d13.mp4", help="burst clip")
    checkins.add_argument("--students", type=int, default=100, help="simultaneous bursts")
    checkins.add_argument("--streamers", type=int, default=20, help="students sending frames")
    checkins.add_argument("--baseline", type=float, default=10.0, help="s of frames before")
    checkins.add_argument("--timeout", type=float, default=600.0, help="s to wait per verdict")
    checkins.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    checkins.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for video in (getattr(args, k, None) for k in ("video", "genuine", "impostor")):
        if video is not None and not video.is_file():
            print(
                f"No video at {video}: the benchmarks need ../shared/data/video.", file=sys.stderr
            )
            return 2
    try:
        env = configure(args.database_url, args.redis_url)
        result, table = _run(args, env)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.command}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"command": sys.argv, "machine": _machine(), "result": result}))
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2))
        print(table, file=sys.stderr)
    else:
        print(table)
    print(f"(full result: {path})", file=sys.stderr if getattr(args, "json", False) else sys.stdout)
    return 0


def _run(args: argparse.Namespace, env: dict[str, str]) -> tuple[object, str]:
    log_dir = Path(env["INVIGILATION_VAR_DIR"])
    if args.command == "stages":
        from invigilation.benchmarks import stages

        result = stages.run(video=args.video, frames=args.frames)
        return result, stages.markdown(result)
    if args.command == "throughput":
        from invigilation.benchmarks import throughput

        rows = throughput.run(env=env, video=args.video, workers=args.workers,
                              students=args.students, fps=args.fps, seconds=args.seconds,
                              log_dir=log_dir)  # fmt: skip
        return rows, throughput.markdown(rows)
    if args.command == "dashboard":
        from invigilation.benchmarks import dashboard

        result = dashboard.run(env=env, video=args.video, levels=args.students,
                               alerts_per_student=args.alerts_per_student, loads=args.loads,
                               rounds=args.rounds, new_flags=args.flags, log_dir=log_dir,
                               screenshots=args.screenshots)  # fmt: skip
        return result, dashboard.markdown(result)
    if args.command == "load":
        from invigilation.benchmarks import load

        row = load.run(env=env, genuine=args.genuine, impostor=args.impostor,
                       students=args.students, invigilators=args.invigilators,
                       poll_every=args.poll_every, seconds=args.seconds,
                       concurrency=args.concurrency, log_dir=log_dir)  # fmt: skip
        return row, load.markdown(row)
    if args.command == "hostile":
        from invigilation.benchmarks import hostile

        result = hostile.run(env=env, seconds=args.seconds, uploads=args.uploads,
                             upload_mib=args.upload_mib, drips=args.drips,
                             log_dir=log_dir)  # fmt: skip
        return result, hostile.markdown(result)
    if args.command == "checkins":
        from invigilation.benchmarks import checkins

        result = checkins.run(env=env, genuine=args.genuine, students=args.students,
                              streamers=args.streamers, baseline=args.baseline,
                              timeout=args.timeout, concurrency=args.concurrency,
                              log_dir=log_dir)  # fmt: skip
        return result, checkins.markdown(result)
    from invigilation.benchmarks import latency

    rows = latency.run(env=env, genuine=args.genuine, impostor=args.impostor,
                       levels=args.students, seconds=args.seconds,
                       concurrency=args.concurrency, log_dir=log_dir)  # fmt: skip
    return rows, latency.markdown(rows)


def _machine() -> dict:
    import os

    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "processor": platform.processor(), "python": platform.python_version()}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
