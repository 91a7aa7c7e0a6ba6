"""The experiments' commands of `python -m fer_model`: average, compare, bench."""

from __future__ import annotations

import argparse
import json
import sys

from ..cli import add_views
from ..data import DEFAULT_CSV
from ..options import int_tuple


def _int_list(text: str) -> list[int]:
    return list(int_tuple(text))


def add_average(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "average", help="average the weights of a run's last epochs (SWA), re-estimate BN"
    )
    p.add_argument("checkpoints", nargs="+", help="e.g. runs/X/epochs/e1{20..35}.pt")
    p.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    p.add_argument("--data", default=DEFAULT_CSV, help="FER2013-layout CSV: Training fixes BN")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(run=cmd_average)


def cmd_average(args: argparse.Namespace) -> int:
    import torch

    from ..data import load_dataset
    from .average import average_checkpoints

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


def add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="paper comparison: baseline vs covpool, FC layers, epochs")
    p.add_argument("--data", default=DEFAULT_CSV)
    p.add_argument("--jaffe", default=None, help="image-folder dataset for cross-dataset accuracy")
    p.add_argument("--epochs", type=_int_list, default=[10, 20], help="e.g. 10,20")
    p.add_argument("--fc-layers", type=_int_list, default=[1, 2], help="e.g. 1,2")
    p.add_argument("--models", default="baseline,covpool")
    p.add_argument("--widths", type=int_tuple, default=None, help="conv widths, e.g. 16,32,64")
    p.add_argument(
        "--out", default="fer_model/RESULTS-compare", help="writes <out>.md and <out>.png"
    )
    p.add_argument("--runs-dir", default="runs/compare")
    p.add_argument("--limit", type=int, default=0, help="first N rows per split (smoke runs)")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(run=cmd_compare)


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


def add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="ms per face at batch 1 (one thread) and batch-32 throughput")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--runs", type=int, default=300)
    p.add_argument("--threads", type=int, default=1)
    add_views(p)
    p.set_defaults(run=cmd_bench)


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
