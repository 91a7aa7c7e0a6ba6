"""Reproduce the paper's comparison: baseline CNN vs covariance pooling, FC layers, epochs.

Each configuration is trained on Usage=Training, then its best-on-PublicTest checkpoint is
evaluated on PublicTest and on an image-folder dataset (JAFFE: cross-dataset generalisation).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from ..augment import AugmentConfig
from ..checkpoint import load_checkpoint, model_from_checkpoint
from ..data import FaceDataset
from ..evaluate import evaluate, load_eval_split
from ..models import count_params, default_config
from ..predict import FERPredictor
from ..train import TrainConfig, train


def _single_view_accuracy(predictor: FERPredictor, ds: FaceDataset) -> float:
    # One view per face, as the paper measures.
    return evaluate(predictor, ds, "single")["accuracy"]


def run_comparison(
    data: str,
    jaffe: str | None,
    epochs: list[int],
    fc_layers: list[int],
    models: list[str],
    runs_dir: str,
    limit: int = 0,
    threads: int = 2,
    widths: tuple[int, ...] | None = None,
) -> list[dict[str, Any]]:
    """One training run per (model, FC layers) over max(epochs) epochs, read at each count.

    The row for N epochs is the best-on-PublicTest checkpoint among the first N epochs of that
    run (the schedule spans max(epochs)), which costs one run instead of one per count.
    Finished runs in `runs_dir` are reused, so an interrupted comparison resumes.
    """
    public = load_eval_split(data, "PublicTest", limit)
    cross = load_eval_split(jaffe) if jaffe else None
    overrides = {"widths": widths} if widths else {}
    rows = []
    for name, fc in itertools.product(models, fc_layers):
        out = Path(runs_dir) / f"{name}-fc{fc}"
        cfg = TrainConfig(
            data=data,
            out_dir=str(out),
            epochs=max(epochs),
            threads=threads,
            limit=limit,
            augment=AugmentConfig(),
            snapshot_epochs=tuple(sorted(epochs)),
        )
        model_cfg = default_config(name, fc_layers=fc, **overrides)
        metrics = train(model_cfg, cfg, resume=True)
        for n_epochs in sorted(epochs):
            ckpt = load_checkpoint(out / f"best-e{n_epochs}.pt")
            model = model_from_checkpoint(ckpt)
            params_m = round(count_params(model) / 1e6, 2)  # before BN folding
            predictor = FERPredictor(model, ckpt, optimize=False)
            rows.append(
                {
                    "model": name,
                    "fc_layers": fc,
                    "epochs": n_epochs,
                    "params_m": params_m,
                    "train_s": round(sum(h["s"] for h in metrics["history"][:n_epochs]), 1),
                    "public_test": _single_view_accuracy(predictor, public),
                    "jaffe": _single_view_accuracy(predictor, cross) if cross is not None else None,
                }
            )
    return rows


def to_markdown(rows: list[dict[str, Any]], note: str = "") -> str:
    head = "| model | FC layers | epochs | params (M) | train time (s) | PublicTest | JAFFE |\n"
    head += "|---|---|---|---|---|---|---|\n"
    fmt = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    body = "".join(
        f"| {r['model']} | {r['fc_layers']} | {r['epochs']} | {r['params_m']} | {r['train_s']} | "
        f"{fmt(r['public_test'])} | {fmt(r['jaffe'])} |\n"
        for r in rows
    )
    return f"# Model comparison (FER2013 paper setup)\n\n{note}\n\n{head}{body}"


def plot_rows(rows: list[dict[str, Any]], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['model']}\nfc{r['fc_layers']} e{r['epochs']}" for r in rows]
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(rows)), 4))
    ax.bar([x - 0.2 for x in xs], [r["public_test"] for r in rows], 0.4, label="FER2013 PublicTest")
    ax.bar(
        [x + 0.2 for x in xs], [r["jaffe"] or 0 for r in rows], 0.4, label="JAFFE (cross-dataset)"
    )
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(
    rows: list[dict[str, Any]], out_stem: str | Path, note: str = ""
) -> tuple[Path, Path]:
    """Writes <out_stem>.md and <out_stem>.png."""
    stem = Path(out_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    md, png = stem.with_suffix(".md"), stem.with_suffix(".png")
    md.write_text(to_markdown(rows, note) + f"\n![comparison]({png.name})\n")
    plot_rows(rows, png)
    return md, png
