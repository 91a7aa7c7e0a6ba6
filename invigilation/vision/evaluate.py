"""Verification on a pairs list: accuracy at the shipped threshold, TAR@FAR, calibration."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .datasets import Pair, read_pairs
from .detect import Face, detect_faces_rgb, landmarks_5
from .embed import embed_rgb
from .verify import THRESHOLD

# Where the face sits in a deep-funneled LFW image (median dlib HOG box on lfw-dev, as fractions
# of the side). Used only when the detector finds nothing: LFW images are aligned, so this is the
# face; the miss is still counted in failed_to_detect.
LFW_CENTRAL_BOX = (0.31, 0.34, 0.72, 0.76)
FAR_TARGET = 1e-3


@dataclass
class PairDistances:
    distances: np.ndarray
    same: np.ndarray
    failed: set[str]  # images where no face was detected
    with_failed: np.ndarray  # pairs with at least one such image
    ms_per_image: float


def best_face(rgb: np.ndarray, name: str, failed: set[str]) -> Face:
    """The detected face nearest the image centre, else the central box (recorded as failed)."""
    height, width = rgb.shape[:2]
    faces = detect_faces_rgb(rgb)
    if faces:
        return min(
            faces,
            key=lambda f: abs(f.box[0] + f.box[2] - width) + abs(f.box[1] + f.box[3] - height),
        )
    failed.add(name)
    box = tuple(
        round(v * s) for v, s in zip(LFW_CENTRAL_BOX, (width, height, width, height), strict=True)
    )
    return Face(box, 0.0, landmarks_5(rgb, box))


def embed_images(names: list[str], images: Path) -> tuple[dict[str, np.ndarray], set[str], float]:
    embeddings, failed, elapsed = {}, set(), 0.0
    for name in tqdm(names, desc="embedding", unit="img"):
        bgr = cv2.imread(str(images / name))
        if bgr is None:
            raise FileNotFoundError(f"cannot read image {images / name}")
        rgb = bgr[:, :, ::-1].copy()
        start = time.perf_counter()
        embeddings[name] = embed_rgb(rgb, best_face(rgb, name, failed))
        elapsed += time.perf_counter() - start
    return embeddings, failed, 1000 * elapsed / max(len(names), 1)


def pair_distances(pairs: list[Pair], images: Path) -> PairDistances:
    names = sorted({n for p in pairs for n in (p.image_a, p.image_b)})
    emb, failed, ms = embed_images(names, images)
    dist = np.array([np.linalg.norm(emb[p.image_a] - emb[p.image_b]) for p in pairs])
    with_failed = np.array([p.image_a in failed or p.image_b in failed for p in pairs])
    return PairDistances(dist, np.array([p.same for p in pairs]), failed, with_failed, ms)


def accuracy(dist: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(((dist < threshold) == same).mean())


def tar_at_far(dist: np.ndarray, same: np.ndarray, far: float = FAR_TARGET) -> float:
    """True-accept rate at the strictest threshold letting at most far * negatives through."""
    negatives = np.sort(dist[~same])
    allowed = int(far * len(negatives))
    threshold = negatives[allowed] if allowed < len(negatives) else np.inf
    return float((dist[same] < threshold).mean())


def best_threshold(dist: np.ndarray, same: np.ndarray) -> float:
    """Midpoint of the widest run of candidate thresholds that maximises accuracy."""
    cuts = np.unique(dist)
    mids = (cuts[:-1] + cuts[1:]) / 2
    acc = np.array([accuracy(dist, same, t) for t in mids])
    best = np.flatnonzero(acc == acc.max())
    return float((mids[best[0]] + mids[best[-1]]) / 2)


def cross_validated_accuracy(dist: np.ndarray, same: np.ndarray, folds: int = 10) -> float:
    """Accuracy with the threshold fitted on the other folds (an unbiased estimate)."""
    order = np.random.default_rng(0).permutation(len(dist))
    correct = 0
    for test in np.array_split(order, folds):
        train = np.setdiff1d(order, test)
        t = best_threshold(dist[train], same[train])
        correct += int(((dist[test] < t) == same[test]).sum())
    return correct / len(dist)


def evaluate_pairs(pairs_path: Path, images: Path, threshold: float = THRESHOLD) -> dict:
    pd = pair_distances(read_pairs(pairs_path), images)
    correct = (pd.distances < threshold) == pd.same
    return {
        "pairs": len(pd.distances),
        "accuracy": round(accuracy(pd.distances, pd.same, threshold), 4),
        "threshold": threshold,
        "tar_at_far_1e-3": round(tar_at_far(pd.distances, pd.same), 4),
        "failed_to_detect": len(pd.failed),
        "ms_per_image": round(pd.ms_per_image, 2),
        # Stricter: pairs touching a detection miss scored wrong (no central-box fallback).
        "accuracy_failed_as_errors": round(float((correct & ~pd.with_failed).mean()), 4),
    }


def calibrate(pairs_path: Path, images: Path, plot: Path | None = None) -> dict:
    """The threshold, and the logistic P(not the same person | distance) behind the identity
    flags' confidence, with its reliability (optionally plotted)."""
    pd = pair_distances(read_pairs(pairs_path), images)
    threshold = best_threshold(pd.distances, pd.same)
    different = ~pd.same.astype(bool)
    slope, intercept = fit_logistic(pd.distances, different)
    probability = logistic(pd.distances, slope, intercept)
    bins = reliability_bins(probability, different)
    if plot:
        plot_reliability(bins, pd.distances, different, (slope, intercept), plot)
    return {
        "pairs": len(pd.distances),
        "threshold": round(threshold, 4),
        "accuracy_at_threshold": round(accuracy(pd.distances, pd.same, threshold), 4),
        "accuracy_10fold_cv": round(cross_validated_accuracy(pd.distances, pd.same), 4),
        "failed_to_detect": len(pd.failed),
        "impostor_logistic": [round(slope, 4), round(intercept, 4)],
        "log_loss": round(log_loss(probability, different), 4),
        "log_loss_10fold_cv": round(cross_validated_log_loss(pd.distances, different), 4),
        "brier": round(float(((probability - different) ** 2).mean()), 4),
        "expected_calibration_error": round(expected_calibration_error(bins, len(probability)), 4),
    }


def logistic(x: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(slope * np.asarray(x, float) + intercept)))


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[float, float]:
    """Maximum-likelihood slope and intercept of P(y | x) (Newton's method; a small ridge
    keeps it finite if the two classes barely overlap)."""
    design = np.column_stack([np.asarray(x, float), np.ones(len(x))])
    weights = np.zeros(2)
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + ridge * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(weights[0]), float(weights[1])


def log_loss(probability: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(probability, 1e-12, 1 - 1e-12)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def cross_validated_log_loss(x: np.ndarray, y: np.ndarray, folds: int = 10) -> float:
    """Log loss on each tenth with the curve fitted on the other nine (unseen pairs)."""
    fold = np.arange(len(x)) % folds
    losses = []
    for k in range(folds):
        slope, intercept = fit_logistic(x[fold != k], y[fold != k])
        losses.append(log_loss(logistic(x[fold == k], slope, intercept), y[fold == k]))
    return float(np.mean(losses))


def reliability_bins(probability: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    """Per band of predicted probability: how many, the mean prediction, the observed rate."""
    edges = np.linspace(0, 1, bins + 1)
    index = np.clip(np.digitize(probability, edges) - 1, 0, bins - 1)
    return [
        {
            "from": round(float(edges[b]), 2),
            "count": int((index == b).sum()),
            "predicted": float(probability[index == b].mean()),
            "observed": float(y[index == b].mean()),
        }
        for b in range(bins)
        if (index == b).any()
    ]


def expected_calibration_error(bins: list[dict], total: int) -> float:
    return sum(b["count"] * abs(b["predicted"] - b["observed"]) for b in bins) / total


def plot_reliability(bins, distances, different, curve: tuple[float, float], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only the calibration command draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="perfectly calibrated")
    left.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], "o-",
              color="#1f5fbf", label="lfw-dev pairs")  # fmt: skip
    for b in bins:
        left.annotate(str(b["count"]), (b["predicted"], b["observed"]), fontsize=7,
                      xytext=(4, -10), textcoords="offset points")  # fmt: skip
    left.set(xlabel="predicted P(not the same person)", ylabel="observed share of different",
             title="Reliability (count per bin)")  # fmt: skip
    left.legend(loc="upper left", fontsize=8)
    grid = np.linspace(0, max(1.4, float(distances.max())), 200)
    right.hist([distances[~different], distances[different]], bins=50, stacked=True,
               color=["#1e7d45", "#b3261e"], label=["same person", "different"])  # fmt: skip
    twin = right.twinx()
    twin.plot(grid, logistic(grid, *curve), color="#17263c", label="fitted P(different)")
    twin.set_ylim(0, 1.02)
    right.set(xlabel="embedding distance", ylabel="pairs", title="Distances and fitted curve")
    right.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
