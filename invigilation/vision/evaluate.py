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


def calibrate(pairs_path: Path, images: Path) -> dict:
    pd = pair_distances(read_pairs(pairs_path), images)
    threshold = best_threshold(pd.distances, pd.same)
    return {
        "pairs": len(pd.distances),
        "threshold": round(threshold, 4),
        "accuracy_at_threshold": round(accuracy(pd.distances, pd.same, threshold), 4),
        "accuracy_10fold_cv": round(cross_validated_accuracy(pd.distances, pd.same), 4),
        "failed_to_detect": len(pd.failed),
    }
