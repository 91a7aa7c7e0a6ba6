"""Self-describing checkpoints: everything needed to rebuild the model lives in the file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from .models import ModelConfig, build_model

DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "default.pt"


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save to a temp file in the same folder, then os.replace: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_checkpoint(
    model: nn.Module,
    model_cfg: ModelConfig,
    norm: dict[str, float],
    class_names: tuple[str, ...] | list[str],
    metrics: dict[str, Any],
    train_cfg: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "version": __version__,
        "model_config": model_cfg.to_dict(),
        "train_config": train_cfg or {},
        "class_names": list(class_names),
        "norm": dict(norm),  # mean, std (of 0..1 pixels), image_size, input_size
        "metrics": metrics,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def load_checkpoint(path: str | Path | None = None) -> dict[str, Any]:
    path = Path(path) if path else DEFAULT_WEIGHTS
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return torch.load(path, map_location="cpu", weights_only=False)


def model_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """Rebuild the model from its saved config and load the weights (eval mode)."""
    model = build_model(ModelConfig.from_dict(ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def export_checkpoint(src: str | Path, dst: str | Path | None = None) -> Path:
    """Strip optimizer/scheduler state from a training checkpoint and write it atomically."""
    ckpt = load_checkpoint(src)
    keep = ("version", "model_config", "train_config", "class_names", "norm", "metrics", "model")
    dst = Path(dst) if dst else DEFAULT_WEIGHTS
    atomic_save({k: ckpt[k] for k in keep if k in ckpt}, dst)
    return dst
