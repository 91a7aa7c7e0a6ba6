"""Command line: `python -m fer_model {train,average,evaluate,predict,bench,compare,export}`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from .augment import DEFAULT_VIEWS, VIEWS
from .models import MODEL_NAMES, default_config

FER_CSV = "../shared/data/fer2013/fer2013-train-publictest.csv.gz"


def _int_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def _int_list(text: str) -> list[int]:
    return list(_int_tuple(text))


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train on Usage=Training, select on PublicTest")
    p.add_argument("--data", default=FER_CSV, help="FER2013-layout CSV (.csv or .csv.gz)")
    p.add_argument("--model", default="rescov", choices=MODEL_NAMES)
    p.add_argument("--out", default=None, help="run folder (default runs/<model>)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="sgd", choices=("sgd", "adamw"))
    p.add_argument("--lr", type=float, default=0.02, help="peak LR (warm-up + cosine); adamw ~2e-3")
    p.add_argument(
        "--lr-schedule",
        default="cosine",
        choices=("cosine", "constant"),
        help="after warm-up: cosine decay, or constant (SWA-style: `average` the epochs)",
    )
    p.add_argument("--weight-decay", type=float, default=5e-4, help="adamw ~0.05")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--mixup", type=float, default=0.0, help="mixup Beta alpha; 0 = off")
    p.add_argument(
        "--teacher", default="", help="distil from this checkpoint's ten-crop TTA probabilities"
    )
    p.add_argument(
        "--distill-alpha", type=float, default=0.5, help="teacher's share of the soft target"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="first N rows per split (smoke runs)")
    p.add_argument("--fc-layers", type=int, default=None)
    p.add_argument("--stem", type=int, default=None)
    p.add_argument("--widths", type=_int_tuple, default=None, help="e.g. 32,64,128")
    p.add_argument("--blocks", type=_int_tuple, default=None, help="e.g. 1,1,1")
    p.add_argument("--cov-channels", type=int, default=None)
    p.add_argument("--dropout", type=float, default=None)
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.add_argument("--init-from", default="", help="warm start from a checkpoint (new schedule)")
    p.add_argument(
        "--deepen-to",
        type=_int_tuple,
        default=(),
        help="with --init-from: grow a residual net to these blocks per stage, e.g. 1,2,2",
    )
    p.add_argument(
        "--calibrate-bn",
        type=int,
        default=8192,
        help="training faces to re-estimate BatchNorm statistics on before each evaluation "
        "(0: evaluate with the training averages)",
    )
    p.add_argument(
        "--save-epochs",
        action="store_true",
        help="also keep each epoch's weights as <out>/epochs/e<N>.pt (for `average`)",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        default=0.0,
        help="minutes; the LR schedule also follows wall time so the run ends on time",
    )


def _add_average(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "average", help="average the weights of a run's last epochs (SWA), re-estimate BN"
    )
    p.add_argument("checkpoints", nargs="+", help="e.g. runs/X/epochs/e1{20..35}.pt")
    p.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    p.add_argument("--data", default=FER_CSV, help="FER2013-layout CSV: Training fixes BN")
    p.add_argument("--threads", type=int, default=2)


def _add_views(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--views",
        choices=VIEWS,
        default=DEFAULT_VIEWS,
        help="test-time views averaged per face: single (the centre crop), mirror (it and its "
        "mirror image, what the product runs) or ten-crop",
    )


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="accuracy, per-class accuracy, confusion matrix")
    p.add_argument("--data", default=FER_CSV, help="FER2013-layout CSV or <root>/<class>/ folder")
    p.add_argument(
        "--usage", default="PublicTest", choices=("PublicTest", "PrivateTest", "Training")
    )
    p.add_argument("--checkpoint", default=None, help="default: fer_model/weights/default.pt")
    _add_views(p)
    p.add_argument(
        "--tta", dest="views", action="store_const", const="ten-crop", help="= --views ten-crop"
    )
    p.add_argument(
        "--face-crop",
        action="store_true",
        help="image folders: crop faces with invigilation.vision's detector, as live frames are",
    )
    p.add_argument("--plot", default=None, help="write a confusion-matrix PNG here")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="paper comparison: baseline vs covpool, FC layers, epochs")
    p.add_argument("--data", default=FER_CSV)
    p.add_argument("--jaffe", default=None, help="image-folder dataset for cross-dataset accuracy")
    p.add_argument("--epochs", type=_int_list, default=[10, 20], help="e.g. 10,20")
    p.add_argument("--fc-layers", type=_int_list, default=[1, 2], help="e.g. 1,2")
    p.add_argument("--models", default="baseline,covpool")
    p.add_argument("--widths", type=_int_tuple, default=None, help="conv widths, e.g. 16,32,64")
    p.add_argument(
        "--out", default="fer_model/RESULTS-compare", help="writes <out>.md and <out>.png"
    )
    p.add_argument("--runs-dir", default="runs/compare")
    p.add_argument("--limit", type=int, default=0, help="first N rows per split (smoke runs)")
    p.add_argument("--threads", type=int, default=2)


def _add_small(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="ms per face at batch 1 (one thread) and batch-32 throughput")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--threads", type=int, default=1)
    _add_views(p)
    p = sub.add_parser("export", help="strip training state; write the shippable checkpoint")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default=None, help="default: fer_model/weights/default.pt")
    p = sub.add_parser("predict", help="classify face image files")
    p.add_argument("images", nargs="+")
    p.add_argument("--checkpoint", default=None)


def _model_overrides(args: argparse.Namespace) -> dict:
    names = ("fc_layers", "stem", "widths", "blocks", "cov_channels", "dropout")
    return {k: getattr(args, k) for k in names if getattr(args, k) is not None}


def cmd_train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, train

    cfg = TrainConfig(
        data=args.data,
        out_dir=args.out or f"runs/{args.model}",
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer=args.optimizer,
        lr=args.lr,
        lr_schedule=args.lr_schedule,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        mixup=args.mixup,
        teacher=args.teacher,
        distill_alpha=args.distill_alpha,
        seed=args.seed,
        threads=args.threads,
        limit=args.limit,
        init_from=args.init_from,
        deepen_to=args.deepen_to,
        save_epochs=args.save_epochs,
        calibrate_bn=args.calibrate_bn,
        time_budget_min=args.time_budget,
    )
    metrics = train(default_config(args.model, **_model_overrides(args)), cfg, resume=args.resume)
    best, epoch = metrics["best_public_test"], metrics["best_epoch"]
    print(f"best PublicTest accuracy {best:.4f} (epoch {epoch})")
    return 0


def cmd_average(args: argparse.Namespace) -> int:
    import torch

    from .average import average_checkpoints
    from .data import load_dataset

    torch.set_num_threads(args.threads)
    try:
        ds = load_dataset(args.data)
        result = average_checkpoints(
            args.checkpoints, ds.subset("Training"), ds.subset("PublicTest"), args.out
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"averaged epochs {result['epochs']} -> {args.out}: PublicTest "
        f"{result['public_test']:.4f} (each alone: "
        + ", ".join("n/a" if a is None else f"{a:.4f}" for a in result["public_test_of_each"])
        + ")"
    )
    return 0


def _vision_cropper():
    # Optional dependency: the product's face detector (dlib), only when asked for.
    from invigilation.vision.expression import fer_face_crop

    return fer_face_crop


def cmd_evaluate(args: argparse.Namespace) -> int:
    import torch

    from .evaluate import evaluate, load_eval_split, plot_confusion
    from .predict import FERPredictor

    torch.set_num_threads(args.threads)
    cropper = _vision_cropper() if args.face_crop else None
    try:
        ds = load_eval_split(args.data, args.usage, args.limit, cropper)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    predictor = FERPredictor.from_checkpoint(args.checkpoint)
    result = evaluate(predictor, ds, args.views)
    if args.plot:
        plot_confusion(result, predictor.class_names, args.plot)
        print(f"confusion matrix written to {args.plot}", file=sys.stderr)
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


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench

    result = bench(args.checkpoint, runs=args.runs, threads=args.threads, views=args.views)
    print(
        f"batch 1, {result['threads']} thread(s), {result['views']} views: "
        f"{result['batch1_ms_per_face']:.3f} ms/face "
        f"(48x48 grey crop; {result['batch1_bgr120_ms_per_face']:.3f} ms for a 120x120 BGR crop)"
    )
    print(
        f"batch 32: {result['batch32_ms_per_face']:.3f} ms/face, "
        f"{result['batch32_faces_per_s']:.0f} faces/s"
    )
    print(json.dumps(result))
    return 0


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


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import run_comparison, write_report

    rows = run_comparison(
        args.data,
        args.jaffe,
        args.epochs,
        args.fc_layers,
        args.models.split(","),
        args.runs_dir,
        args.limit,
        args.threads,
        args.widths,
    )
    note = (
        f"Command: `python -m fer_model {' '.join(sys.argv[1:])}`"
        if args.limit == 0
        else (f"SMOKE RUN on the first {args.limit} rows per split: not a real result.")
    )
    md, png = write_report(rows, args.out, note)
    print(f"wrote {md} and {png}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "average": cmd_average,
    "evaluate": cmd_evaluate,
    "bench": cmd_bench,
    "export": cmd_export,
    "predict": cmd_predict,
    "compare": cmd_compare,
}


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    parser = argparse.ArgumentParser(prog="python -m fer_model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_train(sub)
    _add_average(sub)
    _add_evaluate(sub)
    _add_compare(sub)
    _add_small(sub)
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)
