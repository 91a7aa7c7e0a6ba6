"""`python -m invigilation.vision {evaluate-pairs,calibrate,bench,compare-detectors,liveness}`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .datasets import data_dir


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    result = args.run(args)
    if getattr(args, "json", False):
        print(json.dumps(result))
    else:
        _print_table(result)
    return 0


def _evaluate(args: argparse.Namespace) -> dict:
    from .bench import single_thread  # noqa: PLC0415 - keep CLI start-up light
    from .evaluate import evaluate_pairs  # noqa: PLC0415

    single_thread()
    return evaluate_pairs(Path(args.pairs), Path(args.images))


def _calibrate(args: argparse.Namespace) -> dict:
    from .bench import single_thread  # noqa: PLC0415
    from .evaluate import calibrate  # noqa: PLC0415

    single_thread()
    return calibrate(Path(args.pairs), Path(args.images), Path(args.plot) if args.plot else None)


def _bench(args: argparse.Namespace) -> dict:
    from .bench import bench  # noqa: PLC0415

    return bench(Path(args.video), args.frames, identity_every=args.identity_every)


def _compare(args: argparse.Namespace) -> list[dict]:
    from .compare import compare_detectors  # noqa: PLC0415

    lfw = Path(args.data) / "lfw-dev"
    videos = sorted((Path(args.data) / "video").glob("*.mp4"))
    return compare_detectors(lfw / "pairs.tsv", lfw / "images", videos)


def _liveness(args: argparse.Namespace) -> dict:
    from .bench import single_thread  # noqa: PLC0415
    from .liveness_eval import evaluate, photo_paths  # noqa: PLC0415

    single_thread()
    videos = sorted(Path(args.videos).glob("*.mp4"))
    photos = photo_paths(args.photos, args.per_dir)
    result = evaluate(videos, photos, plot=Path(args.plot) if args.plot else None)
    if not args.json:  # the table: one row per group, then the per-source tracker rows
        _print_table([{k: v for k, v in result.items() if not isinstance(v, list)}])
        _print_table(result["live_tracks"])
        _print_table(result["photo_tracks"])
        return {"failed_genuine": [r for r in result["genuine"] if not r["live"]] or "none"}
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m invigilation.vision", description=__doc__)
    sub = parser.add_subparsers(required=True)
    for name, run, help_ in [
        ("evaluate-pairs", _evaluate, "verification accuracy at the shipped threshold"),
        ("calibrate", _calibrate, "threshold and impostor probability (used once, on lfw-dev)"),
    ]:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--pairs", required=True, help="TSV with header image_a, image_b, same")
        p.add_argument("--images", required=True, help="folder the TSV paths are relative to")
        p.add_argument("--json", action="store_true", help="one JSON object on stdout")
        if name == "calibrate":
            p.add_argument("--plot", help="write the reliability plot (PNG) here")
        p.set_defaults(run=run)
    p = sub.add_parser("bench", help="per-stage ms per 640-px frame of a video, one thread")
    p.add_argument("--video", required=True)
    p.add_argument("--frames", type=int, default=None, help="limit the frames measured")
    p.add_argument(
        "--identity-every", type=int, default=1, help="embed + verify on every N-th frame only"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_bench)
    p = sub.add_parser("compare-detectors", help="the detector table in RESULTS.md")
    p.add_argument("--data", default=str(data_dir()), help="the shared data folder")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_compare)
    p = sub.add_parser("liveness", help="check-in bursts and the in-exam tracker: clips vs photos")
    p.add_argument("--videos", required=True, help="folder of genuine webcam clips (*.mp4)")
    p.add_argument("--photos", nargs="+", required=True, help="photos (JPEG/PNG) or folders")
    p.add_argument("--per-dir", type=int, default=20, help="photos drawn from each folder")
    p.add_argument("--plot", help="write the score histogram (PNG) here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_liveness)
    return parser


def _print_table(result: dict | list[dict]) -> None:
    rows = result if isinstance(result, list) else [result]
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))


if __name__ == "__main__":
    sys.exit(main())
