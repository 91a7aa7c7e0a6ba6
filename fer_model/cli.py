"""Command line: `python -m fer_model {train,evaluate,export,predict,average,compare,bench}`.

train, evaluate, export and predict are here; the experiments (average, compare, bench) are
in experiments/cli.py. Image folders face-cropped as live frames are: the product's
`python -m invigilation.vision fer-evaluate` (evaluate with its face detector as the cropper).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .augment import DEFAULT_VIEWS, VIEWS
from .data import DEFAULT_CSV, FaceCropper
from .models import ModelConfig, default_config
from .options import add_options, given_options, option_fields
from .train import TrainConfig


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train on Usage=Training, select on PublicTest",
        description="Train on Usage=Training, keep the best PublicTest checkpoint. Options "
        "come from TrainConfig (fer_model/train.py) and ModelConfig (fer_model/models.py); "
        "architecture options not given keep the chosen --model's defaults.",
    )
    add_options(p, TrainConfig, defaults={"out_dir": "runs/<model>"})
    add_options(p, ModelConfig, defaults=_unset_model_options())
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.set_defaults(run=cmd_train)


def _unset_model_options() -> dict[str, None]:
    return {f.name: None for f in option_fields(ModelConfig) if f.name != "name"}


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    options = given_options(TrainConfig, args)
    options["out_dir"] = args.out_dir.replace("<model>", args.name)
    overrides = {k: v for k, v in given_options(ModelConfig, args).items() if k != "name"}
    cfg = TrainConfig(**options)
    metrics = train(default_config(args.name, **overrides), cfg, resume=args.resume)
    best, epoch = metrics["best_public_test"], metrics["best_epoch"]
    print(f"best PublicTest accuracy {best:.4f} (epoch {epoch})")
    return 0


def add_views(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--views",
        choices=VIEWS,
        default=DEFAULT_VIEWS,
        help="test-time views averaged per face: single (the centre crop), mirror (it and its "
        "mirror image, what the product runs) or ten-crop",
    )


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    """`evaluate`'s options (also those of the product's `fer-evaluate`)."""
    p.add_argument(
        "--data", default=DEFAULT_CSV, help="FER2013-layout CSV or <root>/<class>/ folder"
    )
    p.add_argument(
        "--usage", default="PublicTest", choices=("PublicTest", "PrivateTest", "Training")
    )
    p.add_argument("--checkpoint", default=None, help="default: fer_model/weights/default.pt")
    add_views(p)
    p.add_argument(
        "--tta", dest="views", action="store_const", const="ten-crop", help="= --views ten-crop"
    )
    p.add_argument("--plot", default=None, help="write a confusion-matrix PNG here")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="accuracy, per-class accuracy, confusion matrix")
    add_evaluate_arguments(p)
    p.set_defaults(run=cmd_evaluate)


def evaluate_args(
    args: argparse.Namespace, face_cropper: FaceCropper | None = None
) -> dict[str, Any] | None:
    """`evaluate`'s work from its parsed options: the result, or None after reporting a data
    error on stderr. `face_cropper` crops the faces of image folders (see data.FaceCropper)."""
    import torch

    from .evaluate import evaluate, load_eval_split, plot_confusion
    from .predict import FERPredictor

    torch.set_num_threads(args.threads)
    try:
        ds = load_eval_split(args.data, args.usage, args.limit, face_cropper)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    predictor = FERPredictor.from_checkpoint(args.checkpoint)
    result = evaluate(predictor, ds, args.views)
    if args.plot:
        plot_confusion(result, predictor.class_names, args.plot)
        print(f"confusion matrix written to {args.plot}", file=sys.stderr)
    return result


def cmd_evaluate(args: argparse.Namespace) -> int:
    result = evaluate_args(args)
    if result is None:
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"accuracy {result['accuracy']:.4f} on {result['n']} faces"
            f" ({args.views} views); {result['ms_per_face']:.3f} ms/face"
        )
        for name, acc in result["per_class"].items():
            print(f"  {name:9s} {'n/a' if acc is None else f'{acc:.3f}'}")
    return 0


def _add_export_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="strip training state; write the shippable checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default=None, help="default: fer_model/weights/default.pt")
    p.set_defaults(run=cmd_export)
    p = sub.add_parser("predict", help="classify face image files")
    p.add_argument("images", nargs="+")
    p.add_argument("--checkpoint", default=None)
    p.set_defaults(run=cmd_predict)


def cmd_export(args: argparse.Namespace) -> int:
    from .checkpoint import export_checkpoint

    dst = export_checkpoint(args.checkpoint, args.out)
    print(f"exported {args.checkpoint} -> {dst} ({dst.stat().st_size / 1e6:.2f} MB)")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import cv2

    from .predict import FERPredictor

    predictor = FERPredictor.from_checkpoint(args.checkpoint)
    for path in args.images:
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if img is None:
            print(f"{path}: unreadable", file=sys.stderr)
            continue
        probs = predictor.predict([img])[0]
        top = int(probs.argmax())
        print(f"{path}: {predictor.class_names[top]} ({probs[top]:.2f})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .experiments.cli import add_average, add_bench, add_compare

    parser = argparse.ArgumentParser(prog="python -m fer_model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    add_average(sub)
    _add_evaluate(sub)
    add_compare(sub)
    add_bench(sub)
    _add_export_predict(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    args = build_parser().parse_args(argv)
    return args.run(args)
