"""Weight averaging (SWA-style) of checkpoints from the end of one training run.

Averaging the weights of the last epochs of a cosine schedule lands nearer the centre of
the flat region they wander in, which generalises a little better than any single epoch.
The averaged network has no BatchNorm statistics of its own, so they are re-estimated with
one pass over clean training faces (`fer_model/batchnorm.py`, as training does). Averaging a
single checkpoint is just that re-estimation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..batchnorm import recalibrate_batchnorm
from ..checkpoint import atomic_save, load_checkpoint, make_checkpoint
from ..data import FaceDataset
from ..models import ModelConfig, build_model
from ..train import accuracy


def average_weights(ckpts: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Mean of every floating-point tensor; counters (BN's num_batches_tracked) from the last."""
    configs = {repr(ModelConfig.from_dict(c["model_config"])) for c in ckpts}
    if len(configs) != 1:
        raise ValueError("checkpoints to average must share one architecture")
    averaged = {}
    for key, last in ckpts[-1]["model"].items():
        if last.is_floating_point():
            averaged[key] = torch.stack([c["model"][key].float() for c in ckpts]).mean(0)
        else:
            averaged[key] = last
    return averaged


def average_checkpoints(
    paths: list[str | Path], train: FaceDataset, val: FaceDataset, out: str | Path
) -> dict[str, Any]:
    """Average `paths`, fix BN on `train`, measure on `val`, write `out`; returns the metrics."""
    if not paths:
        raise ValueError("no checkpoints to average")
    if len(train) == 0:
        raise ValueError("no Usage=Training faces to re-estimate BatchNorm statistics on")
    ckpts = [load_checkpoint(p) for p in paths]
    last = ckpts[-1]
    model_cfg = ModelConfig.from_dict(last["model_config"])
    model = build_model(model_cfg)
    model.load_state_dict(average_weights(ckpts))
    recalibrate_batchnorm(model, train.images, last["norm"], progress=True)
    metrics = dict(last.get("metrics", {}))
    metrics["averaged"] = {
        "checkpoints": [str(p) for p in paths],
        "epochs": [c.get("epoch") for c in ckpts],
        "public_test_of_each": [
            c.get("metrics", {}).get("history", [{}])[-1].get("public_test_acc") for c in ckpts
        ],
        "public_test": accuracy(model, val, last["norm"]),
    }
    ckpt = make_checkpoint(
        model, model_cfg, last["norm"], last["class_names"], metrics, last.get("train_config")
    )
    atomic_save(ckpt, out)
    return metrics["averaged"]
