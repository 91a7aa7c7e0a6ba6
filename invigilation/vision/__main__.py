"""`python -m invigilation.vision {evaluate-pairs,calibrate,bench,compare-detectors,liveness,
fer-evaluate,calibrate-open-set,evaluate-hall}`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from invigilation.decisions.rules import IDENTITY_CHECK_EVERY, IDENTITY_CHECK_EVERY_CLEAR

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
    from .bench import PeerUnavailable, bench  # noqa: PLC0415

    try:
        return bench(
            Path(args.video),
            args.frames,
            identity_every=args.identity_every,
            identity_every_clear=args.identity_every_clear or None,
            peer=args.peer,
        )
    except PeerUnavailable as exc:  # a clear message, exit status 1, no traceback
        raise SystemExit(f"bench --peer: {exc}") from None


def _compare(args: argparse.Namespace) -> list[dict]:
    from .compare import compare_detectors  # noqa: PLC0415

    lfw = Path(args.data) / "lfw-dev"
    videos = sorted((Path(args.data) / "video").glob("*.mp4"))
    return compare_detectors(lfw / "pairs.tsv", lfw / "images", videos, only=args.only)


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


def _fer_evaluate(args: argparse.Namespace) -> dict:
    from fer_model.cli import evaluate_args  # noqa: PLC0415 - torch

    from .expression import fer_face_crop  # noqa: PLC0415

    result = evaluate_args(args, face_cropper=fer_face_crop)
    if result is None:  # the data error is on stderr
        raise SystemExit(2)
    if args.json:  # the same object as `python -m fer_model evaluate --json`
        return result
    per_class = {k: "n/a" if v is None else round(v, 3) for k, v in result["per_class"].items()}
    return {k: result[k] for k in ("accuracy", "n", "views", "ms_per_face")} | per_class


def _add_fer_evaluate(sub: argparse._SubParsersAction) -> None:
    from fer_model.cli import add_evaluate_arguments  # noqa: PLC0415

    p = sub.add_parser(
        "fer-evaluate",
        help="fer_model's evaluate on image folders (JAFFE), faces cropped as live frames are",
    )
    add_evaluate_arguments(p)
    p.set_defaults(run=_fer_evaluate)


def _calibrate_open_set(args: argparse.Namespace) -> dict:
    from .bench import single_thread  # noqa: PLC0415
    from .hall_calibration import calibrate_open_set  # noqa: PLC0415

    single_thread()
    lfw = Path(args.lfw)
    result = calibrate_open_set(
        lfw / "pairs.tsv",
        lfw / "images",
        cache=Path(args.cache) if args.cache else None,
        seed=args.seed,
        kiosk_rounds=args.kiosk_rounds,
        room_frames=args.room_frames,
    )
    if args.json:
        return result
    print(f"kiosk (identify, roster of {result['kiosk']['roster']}):")
    _print_table(result["kiosk"]["table"])
    for variant in ("flip_averaged", "single_chip"):
        print(f"room ({variant} hall faces, assign):")
        _print_table(result["room"][variant]["table"])
        print("by size at", result["room"][variant]["chosen"])
        by_size = result["room"][variant]["by_size_at_chosen_all_sizes"]
        _print_table([{"size": size} | rates for size, rates in by_size.items()])
    return {
        "kiosk_threshold": result["kiosk"]["chosen"],
        "room_threshold": result["room"]["flip_averaged"]["chosen"],
        "room_threshold_single_chip": result["room"]["single_chip"]["chosen"],
        "min_identify_px": result["room"]["flip_averaged"]["min_identify_px"],
    }


def _evaluate_hall(args: argparse.Namespace) -> dict:
    from .bench import single_thread  # noqa: PLC0415
    from .hall import warm_up  # noqa: PLC0415
    from .hall_evaluation import evaluate_hall, evaluate_halls  # noqa: PLC0415

    single_thread()
    warm_up()  # model loading is not a frame's cost
    if args.halls:
        result = evaluate_halls(Path(args.halls))
        rows = [{"hall": name} | _flat(scores) for name, scores in result["halls"].items()]
        rows.append({"hall": "total"} | _flat(result["total"]))
    elif args.roster and args.frames:
        labels = Path(args.labels) if args.labels else None
        result = evaluate_hall(Path(args.roster), Path(args.frames), labels)
        result.pop("counts", None)
        rows = [_flat(result["scores"])] if labels else [
            {"frame": name, "faces": len(faces),
             "identified": sum(f["student"] is not None for f in faces)}
            for name, faces in result["frames"].items()
        ]  # fmt: skip
    else:
        raise SystemExit("evaluate-hall: give --roster and --frames, or --halls")
    if args.json:
        return result
    _print_table(rows)
    return {"ms_per_frame": result.get("ms_per_frame", result.get("total", {}).get("ms_per_frame"))}


def _flat(scores: dict) -> dict:
    """Scores as one table row (recall by size as one column per bucket)."""
    by_size = {f"recall_{k}": v for k, v in scores["recall_by_size"].items()}
    return {k: v for k, v in scores.items() if k != "recall_by_size"} | by_size


def _add_hall(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate-open-set",
        help="1:N thresholds (kiosk, room) from simulated open-set trials on lfw-dev",
    )
    p.add_argument("--lfw", default=str(data_dir() / "lfw-dev"), help="pairs.tsv and images/")
    p.add_argument("--cache", help="an .npz for the embeddings (reused when present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kiosk-rounds", type=int, default=20, help="rosters of 300 drawn")
    p.add_argument("--room-frames", type=int, default=1000, help="simulated room frames")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_calibrate_open_set)
    p = sub.add_parser("evaluate-hall", help="every face of room frames against a roster")
    p.add_argument("--roster", help="folder of <student id>/*.jpg")
    p.add_argument("--frames", help="folder of room frames")
    p.add_argument("--labels", help="labels.json (hall-dev's format): add the scores")
    p.add_argument("--halls", help="instead: every hall*/ (roster/, frames/, labels.json) here")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(run=_evaluate_hall)


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
        "--identity-every",
        type=int,
        default=IDENTITY_CHECK_EVERY,
        help="identity on every N-th frame while the identity test holds evidence",
    )
    p.add_argument(
        "--identity-every-clear",
        type=int,
        default=IDENTITY_CHECK_EVERY_CLEAR,
        help="... and every N-th while it holds none (the product's schedule, the rules run "
        "on every frame); 0: every --identity-every-th frame, whatever the rules hold",
    )
    p.add_argument(
        "--peer",
        action="store_true",
        help="also time face_recognition's webcam loop on the same frames (alternating): ratio",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_bench)
    p = sub.add_parser("compare-detectors", help="the detector table in RESULTS.md")
    p.add_argument("--data", default=str(data_dir()), help="the shared data folder")
    p.add_argument("--only", nargs="+", help="only the rows whose name contains one of these")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_compare)
    p = sub.add_parser("liveness", help="check-in bursts and the in-exam tracker: clips vs photos")
    p.add_argument("--videos", required=True, help="folder of genuine webcam clips (*.mp4)")
    p.add_argument("--photos", nargs="+", required=True, help="photos (JPEG/PNG) or folders")
    p.add_argument("--per-dir", type=int, default=20, help="photos drawn from each folder")
    p.add_argument("--plot", help="write the score histogram (PNG) here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_liveness)
    _add_fer_evaluate(sub)
    _add_hall(sub)
    return parser


def _print_table(result: dict | list[dict]) -> None:
    rows = result if isinstance(result, list) else [result]
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))


if __name__ == "__main__":
    sys.exit(main())
