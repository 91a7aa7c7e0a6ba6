"""Training loop: Usage=Training to fit, PublicTest to select; resumable, atomic checkpoints."""

from __future__ import annotations

import math
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .augment import AugmentConfig, augment, center_crop, to_input
from .batchnorm import recalibrate_batchnorm
from .checkpoint import atomic_save, load_checkpoint, make_checkpoint
from .data import DEFAULT_CSV, FaceDataset, load_dataset
from .models import ModelConfig, build_model, count_params, deepen
from .options import option
from .predict import FERPredictor


@dataclass
class TrainConfig:
    """Training hyper-parameters, saved in every checkpoint. `option()` fields are also the
    options of `python -m fer_model train` (fer_model/options.py builds them from here)."""

    data: str = option(DEFAULT_CSV, "FER2013-layout CSV (.csv or .csv.gz)")
    out_dir: str = option("runs/default", "run folder", flag="--out")
    epochs: int = option(40, "epochs the LR schedule spans")
    batch_size: int = option(128, "faces per step")
    optimizer: str = option("sgd", "sgd (Nesterov momentum 0.9) or adamw", choices=("sgd", "adamw"))
    # sgd at 0.1 stalled at chance
    lr: float = option(0.02, "peak LR (warm-up + cosine); adamw ~2e-3")
    lr_schedule: str = option(
        "cosine",
        "after warm-up: cosine decay, or constant (SWA-style: `average` the epochs)",
        choices=("cosine", "constant"),
    )
    weight_decay: float = option(5e-4, "decoupled for adamw: ~0.05 there")
    label_smoothing: float = option(0.1, "label smoothing of the one-hot targets")
    mixup: float = option(0.0, "mixup Beta(alpha, alpha) alpha; 0 = off")
    teacher: str = option("", "distil from this checkpoint's ten-crop TTA probabilities")
    distill_alpha: float = option(0.5, "teacher's share of the soft target")
    seed: int = option(0, "random seed (shuffling, augmentation, initialisation)")
    threads: int = option(2, "intra-op threads (at most; see adapt_threads)")
    limit: int = option(0, "first N rows per split (smoke runs)")
    init_from: str = option("", "warm start from a checkpoint (weights only, new schedule)")
    deepen_to: tuple[int, ...] = option(
        (), "with --init-from: grow a residual net to these blocks per stage, e.g. 1,2,2"
    )
    time_budget_min: float = option(
        0.0,
        "minutes; the LR schedule also follows wall time so the run ends on time (LRSchedule)",
        flag="--time-budget",
    )
    adapt_threads: bool = True  # ThreadTuner: 1 or `threads` threads, whichever is faster now
    channels_last: bool = True  # measured ~25% faster training on this CPU
    snapshot_epochs: tuple[int, ...] = ()  # keep best-so-far as best-e<N>.pt after epoch N
    calibrate_bn: int = option(
        8192,
        "training faces to re-estimate BatchNorm statistics on before each evaluation "
        "(0: evaluate with the training averages)",
    )
    save_epochs: bool = option(
        False, "also keep each epoch's weights as <out>/epochs/e<N>.pt (for `average`)"
    )
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.inference_mode()
def predict_logits(
    model: nn.Module, images: np.ndarray, norm: dict[str, float], batch_size: int = 512
) -> torch.Tensor:
    """Centre-crop logits for a uint8 (N, 48, 48) array."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = center_crop(
            to_input(images[i : i + batch_size], norm["mean"], norm["std"]), norm["input_size"]
        )
        out.append(model(x.contiguous(memory_format=torch.channels_last)))
    return torch.cat(out) if out else torch.zeros(0, 7)


def accuracy(model: nn.Module, ds: FaceDataset, norm: dict[str, float]) -> float:
    if len(ds) == 0:
        return float("nan")
    pred = predict_logits(model, ds.images, norm).argmax(1).numpy()
    return float((pred == ds.labels).mean())


def _splits(cfg: TrainConfig) -> tuple[FaceDataset, FaceDataset]:
    ds = load_dataset(cfg.data)
    train, val = ds.subset("Training"), ds.subset("PublicTest")
    if cfg.limit:
        train, val = train.head(cfg.limit), val.head(cfg.limit)
    if len(train) == 0:
        raise ValueError(f"{cfg.data}: no Usage=Training rows")
    return train, val


def _norm(train: FaceDataset, input_size: int) -> dict[str, float]:
    px = train.images.astype(np.float32) / 255.0
    return {
        "mean": float(px.mean()),
        "std": float(px.std()),
        "image_size": 48,
        "input_size": input_size,
    }


def _mixup_lambda(alpha: float, gen: torch.Generator) -> float:
    # numpy's Beta sampler, seeded from the epoch generator: keeps runs reproducible.
    seed = int(torch.randint(1 << 30, (1,), generator=gen))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def teacher_probabilities(path: str, images: np.ndarray) -> torch.Tensor:
    """The teacher's ten-crop + flip averaged probabilities on un-augmented training faces.

    TTA makes the teacher better than any single view of it (the shipped model: +1.6 points
    on PublicTest); distilling that into single-view training aims to keep part of the gain.
    """
    print(f"teacher {path}: ten-crop probabilities over {len(images)} training faces", flush=True)
    return torch.as_tensor(FERPredictor.from_checkpoint(path).predict_images(images, "ten-crop"))


def target_distribution(
    y: torch.Tensor, n_classes: int, cfg: TrainConfig, soft: torch.Tensor | None = None
) -> torch.Tensor:
    """Smoothed one-hot labels, blended with the teacher's probabilities when there are any."""
    smooth = cfg.label_smoothing
    hard = F.one_hot(y, n_classes).float() * (1 - smooth) + smooth / n_classes
    return hard if soft is None else (1 - cfg.distill_alpha) * hard + cfg.distill_alpha * soft


def _loss(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    soft: torch.Tensor | None,
    cfg: TrainConfig,
    gen: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy against target distributions (mixup mixes inputs and targets alike)."""
    if cfg.mixup <= 0:
        logits = model(x)
        return F.cross_entropy(logits, target_distribution(y, logits.shape[1], cfg, soft)), logits
    lam = _mixup_lambda(cfg.mixup, gen)
    perm = torch.randperm(len(x), generator=gen)
    logits = model(lam * x + (1 - lam) * x[perm])
    target = target_distribution(y, logits.shape[1], cfg, soft)
    return F.cross_entropy(logits, lam * target + (1 - lam) * target[perm]), logits


def progress_bar(items: range, desc: str) -> tqdm:
    """tqdm on stderr; a redirected log (not a terminal) gets one line a minute, not hundreds."""
    interval = 1.0 if sys.stderr.isatty() else 60.0
    return tqdm(items, desc=desc, leave=False, mininterval=interval, file=sys.stderr)


class ThreadTuner:
    """Re-picks 1 vs `max_threads` intra-op threads every `period` steps by timing both.

    The 2 cores are shared with other work: when another process holds a core, one thread
    beats two (no waiting at every parallel region for a descheduled sibling thread).
    """

    def __init__(self, max_threads: int, period: int = 60, probe: int = 4) -> None:
        self.max_threads, self.period, self.probe = max_threads, period, probe
        self.times: dict[int, list[float]] = {}
        self.best = max_threads
        self.i = 0
        self.steps_at: dict[int, int] = {}  # for the epoch log line

    def threads_for_step(self) -> int:
        phase = self.i % self.period
        if self.max_threads > 1 and phase < 2 * self.probe:
            return 1 if phase < self.probe else self.max_threads
        return self.best

    def record(self, threads: int, seconds: float) -> None:
        phase = self.i % self.period
        self.i += 1
        self.steps_at[threads] = self.steps_at.get(threads, 0) + 1
        if self.max_threads <= 1 or phase >= 2 * self.probe:
            return
        if phase % self.probe:  # the first step after a switch is a warm-up
            self.times.setdefault(threads, []).append(seconds)
        if phase == 2 * self.probe - 1:
            self.best = min(self.times, key=lambda t: sum(self.times[t]) / len(self.times[t]))
            self.times = {}


@dataclass
class _Run:
    """Mutable training state shared by the epoch loop (saved in last.pt for --resume)."""

    model: nn.Module
    opt: torch.optim.Optimizer
    sched: LRSchedule
    images: torch.Tensor
    labels: torch.Tensor
    norm: dict[str, float]
    step: int = 0
    elapsed_s: float = 0.0  # training wall time over all sessions of this run
    lr: float = 0.0
    tuner: ThreadTuner | None = None
    teacher_probs: torch.Tensor | None = None  # (N, classes), aligned with `labels`


def _train_epoch(run: _Run, cfg: TrainConfig, epoch: int) -> tuple[float, float]:
    """One pass over the shuffled data, stopping where the schedule ends; returns (loss, acc)."""
    run.model.train()
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)  # resumable determinism
    order = torch.randperm(len(run.labels), generator=gen)
    n_batches = len(order) // cfg.batch_size or 1
    tot_loss = tot_correct = seen = 0.0
    t0, e0 = time.time(), run.elapsed_s
    bar = progress_bar(range(n_batches), f"epoch {epoch + 1}/{cfg.epochs}")
    for b in bar:
        run.elapsed_s = e0 + time.time() - t0
        p = run.sched.progress(run.step, run.elapsed_s)
        if p >= 1.0:
            break
        run.lr = run.sched.lr(p)
        for group in run.opt.param_groups:
            group["lr"] = run.lr
        threads = run.tuner.threads_for_step() if run.tuner else cfg.threads
        torch.set_num_threads(threads)
        t_step = time.perf_counter()
        idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
        x = to_input(run.images[idx], run.norm["mean"], run.norm["std"])
        x = augment(x, run.norm["input_size"], cfg.augment, gen)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = run.labels[idx]
        soft = run.teacher_probs[idx] if run.teacher_probs is not None else None
        loss, logits = _loss(run.model, x, y, soft, cfg, gen)
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        run.opt.step()
        run.step += 1
        if run.tuner:
            run.tuner.record(threads, time.perf_counter() - t_step)
        tot_loss += float(loss.detach()) * len(y)
        tot_correct += float((logits.argmax(1) == y).sum())
        seen += len(y)
        bar.set_postfix(
            loss=f"{tot_loss / seen:.3f}", acc=f"{tot_correct / seen:.3f}", refresh=False
        )
    bar.close()
    run.elapsed_s = e0 + time.time() - t0
    return tot_loss / max(seen, 1), tot_correct / max(seen, 1)


class LRSchedule:
    """Linear warm-up then cosine decay (or a constant LR), driven by progress in [0, 1].

    Progress is steps done / planned steps, or, with a time budget, wall time used / budget
    when that is further along: on a shared CPU the run then still ends at a low LR on time
    (the price: the number of epochs, hence the result, depends on the machine's load).
    """

    def __init__(
        self,
        peak: float,
        total_steps: int,
        budget_s: float = 0.0,
        warmup: float = 0.05,
        start_div: float = 20.0,
        final_div: float = 1000.0,
        shape: str = "cosine",
    ) -> None:
        if shape not in ("cosine", "constant"):
            raise ValueError(f"unknown LR schedule {shape!r}")
        self.peak, self.total_steps, self.budget_s = peak, max(total_steps, 1), budget_s
        self.shape = shape
        self.warmup, self.start_div, self.final_div = warmup, start_div, final_div

    def progress(self, step: int, elapsed_s: float) -> float:
        p = step / self.total_steps
        if self.budget_s > 0:
            p = max(p, elapsed_s / self.budget_s)
        return min(p, 1.0)

    def lr(self, p: float) -> float:
        if p < self.warmup:
            start = self.peak / self.start_div
            return start + (self.peak - start) * p / self.warmup
        if self.shape == "constant":
            return self.peak
        q = (p - self.warmup) / (1 - self.warmup)
        low = self.peak / self.final_div
        return low + (self.peak - low) * 0.5 * (1 + math.cos(math.pi * q))


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    # No weight decay on BN/bias parameters: standard for short schedules.
    groups = [
        {"params": [p for p in model.parameters() if p.ndim > 1], "weight_decay": cfg.weight_decay},
        {"params": [p for p in model.parameters() if p.ndim <= 1], "weight_decay": 0.0},
    ]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, nesterov=True)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def _resumed_config(cfg: TrainConfig, saved: dict[str, Any]) -> TrainConfig:
    """A resumed run keeps its saved hyper-parameters; only where/how it runs may change."""
    local = {"data", "out_dir", "threads", "adapt_threads"}
    keep = {f.name: saved[f.name] for f in fields(cfg) if f.name in saved and f.name not in local}
    keep["augment"] = AugmentConfig.from_dict(saved.get("augment", {}))
    return replace(cfg, **keep)


def _initial_model(
    model_cfg: ModelConfig, init: dict[str, Any] | None, deepen_to: tuple[int, ...]
) -> tuple[nn.Module, ModelConfig]:
    """The model to train and its config (a deepened warm start changes the block counts)."""
    if init and deepen_to:
        return deepen(init["model"], model_cfg, deepen_to), replace(model_cfg, blocks=deepen_to)
    model = build_model(model_cfg)
    if init:
        model.load_state_dict(init["model"])
    return model, model_cfg


def train(model_cfg: ModelConfig, cfg: TrainConfig, resume: bool = False) -> dict[str, Any]:
    """Train and return the metrics; writes last.pt every epoch and best.pt on improvement."""
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    out = Path(cfg.out_dir)
    last_path = out / "last.pt"
    if cfg.deepen_to and not cfg.init_from:
        raise ValueError("deepening needs a checkpoint to grow from (--init-from)")
    if not 0.0 <= cfg.distill_alpha <= 1.0:
        raise ValueError(f"distill_alpha must be within [0, 1], not {cfg.distill_alpha}")
    state = load_checkpoint(last_path) if resume and last_path.exists() else None
    if state:
        cfg = _resumed_config(cfg, state["train_config"])
    init = load_checkpoint(cfg.init_from) if cfg.init_from and not state else None
    if state or init:  # the saved architecture wins over the command line
        model_cfg = ModelConfig.from_dict((state or init)["model_config"])
    train_ds, val_ds = _splits(cfg)
    norm = (state or init)["norm"] if state or init else _norm(train_ds, model_cfg.input_size)
    model, model_cfg = _initial_model(model_cfg, init, cfg.deepen_to)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    steps_per_epoch = len(train_ds) // cfg.batch_size or 1
    sched = LRSchedule(
        cfg.lr, steps_per_epoch * cfg.epochs, cfg.time_budget_min * 60, shape=cfg.lr_schedule
    )
    run = _Run(
        model,
        _optimizer(model, cfg),
        sched,
        torch.as_tensor(train_ds.images),
        torch.as_tensor(train_ds.labels),
        norm,
        tuner=ThreadTuner(cfg.threads) if cfg.adapt_threads else None,
        teacher_probs=teacher_probabilities(cfg.teacher, train_ds.images) if cfg.teacher else None,
    )
    metrics: dict[str, Any] = {
        "history": [],
        "best_public_test": 0.0,
        "best_epoch": 0,
        "wall_s": 0.0,
    }
    start_epoch = 0
    if state:
        model.load_state_dict(state["model"])
        run.opt.load_state_dict(state["optimizer"])
        run.step, run.elapsed_s = state["step"], state["elapsed_s"]
        torch.set_rng_state(state["torch_rng"])  # dropout masks continue as if uninterrupted
        metrics, start_epoch = state["metrics"], state["epoch"]
        print(f"resumed from {last_path} at epoch {start_epoch}", flush=True)
    elif init:
        grown = f", deepened to blocks {cfg.deepen_to}" if cfg.deepen_to else ""
        print(f"warm start from {cfg.init_from}{grown}", flush=True)
    print(
        f"model {model_cfg.name}: {count_params(model) / 1e6:.2f}M params; train {len(train_ds)}, "
        f"PublicTest {len(val_ds)}; up to {cfg.epochs} epochs"
        + (f", time budget {cfg.time_budget_min:.1f} min" if cfg.time_budget_min else ""),
        flush=True,
    )
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.time()
        loss, train_acc = _train_epoch(run, cfg, epoch)
        t_eval = time.time()
        if cfg.calibrate_bn:  # the training EMA lags the weights: several points at a high LR
            recalibrate_batchnorm(model, run.images, norm, limit=cfg.calibrate_bn, seed=epoch)
        val_acc = accuracy(model, val_ds, norm)
        run.elapsed_s += time.time() - t_eval  # evaluation time counts towards the budget
        _end_epoch(
            run,
            metrics,
            model_cfg,
            train_ds.class_names,
            cfg,
            epoch,
            loss,
            train_acc,
            val_acc,
            time.time() - t0,
        )
        if run.sched.progress(run.step, run.elapsed_s) >= 1.0:  # also when evaluation used it up
            break
    return metrics


def _end_epoch(
    run: _Run,
    metrics: dict[str, Any],
    model_cfg: ModelConfig,
    class_names: tuple[str, ...],
    cfg: TrainConfig,
    epoch: int,
    loss: float,
    train_acc: float,
    val_acc: float,
    dt: float,
) -> None:
    """Record the epoch, write best.pt on improvement and last.pt always (both atomically)."""
    out = Path(cfg.out_dir)
    metrics["wall_s"] += dt
    progress = run.sched.progress(run.step, run.elapsed_s)
    metrics["history"].append(
        {
            "epoch": epoch + 1,
            "loss": loss,
            "train_acc": train_acc,
            "public_test_acc": val_acc,
            "lr": run.lr,
            "s": dt,
            "progress": progress,
        }
    )
    improved = val_acc > metrics["best_public_test"]
    if improved:
        metrics["best_public_test"], metrics["best_epoch"] = val_acc, epoch + 1
    ckpt = make_checkpoint(run.model, model_cfg, run.norm, class_names, metrics, asdict(cfg))
    if improved:
        atomic_save(ckpt, out / "best.pt")
    if cfg.save_epochs:
        atomic_save({**ckpt, "epoch": epoch + 1}, out / "epochs" / f"e{epoch + 1}.pt")
    if epoch + 1 in cfg.snapshot_epochs:  # the epochs comparison reads these
        snapshot = out / f"best-e{epoch + 1}.pt"
        if (out / "best.pt").exists():
            shutil.copyfile(out / "best.pt", snapshot)
        else:  # no epoch beat 0% yet
            atomic_save(ckpt, snapshot)
    atomic_save(
        {
            **ckpt,
            "optimizer": run.opt.state_dict(),
            "step": run.step,
            "elapsed_s": run.elapsed_s,
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch + 1,
        },
        out / "last.pt",
    )
    print(
        f"epoch {epoch + 1}/{cfg.epochs} loss {loss:.4f} train_acc {train_acc:.4f} "
        f"public_test_acc {val_acc:.4f} best {metrics['best_public_test']:.4f} "
        f"(epoch {metrics['best_epoch']}) lr {run.lr:.4g} progress {progress:.3f} {dt:.0f}s "
        f"{time.strftime('%H:%M:%S')}"
        + (f" threads(steps) {run.tuner.steps_at}" if run.tuner else ""),
        flush=True,
    )
