"""`evaluate-hall`: `analyse_room_frame` on folders of room frames, scored against labels.

A roster folder holds `<student id>/*.jpg`; each photo is enrolled from its largest face.
Labels (hall-dev's labels.json): per frame, face boxes with a roster id or null (a stranger).
A detection counts for a labelled face when their boxes overlap by IoU >= 0.3 (greedy, best
first, one detection per face); detections matching no labelled face are false detections
(on hall-dev some are real: bystanders' faces at the edge of a pasted photo are unlabelled).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .detect import _iou, detect_faces_rgb
from .embed import embed_rgb
from .hall import MIN_IDENTIFY_PX, RoomAnalysis, analyse_room_frame

MATCH_IOU = 0.3
SIZE_BUCKETS = (40, 48, 64, 80, 100)  # lower edges, px of the labelled box's width
RECALL_FROM_PX = 48
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def photo_embedding(rgb: np.ndarray) -> np.ndarray | None:
    """An enrolment photo's embedding: its largest face (found as enrolment photos are), or
    None. The largest, not "exactly one": LFW photos often show part of a bystander."""
    faces = detect_faces_rgb(rgb, enrolment=True)
    if not faces:
        return None
    face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return embed_rgb(rgb, face)


def enrol_roster(roster_dir: Path) -> dict[str, list[np.ndarray]]:
    """Student id (folder name) -> embeddings of its photos (an unusable photo is skipped)."""
    roster: dict[str, list[np.ndarray]] = {}
    folders = sorted(p for p in roster_dir.iterdir() if p.is_dir())
    for folder in tqdm(folders, desc=f"enrol {roster_dir.parent.name}", unit="student"):
        embeddings = [photo_embedding(_read_rgb(p)) for p in _images(folder)]
        roster[folder.name] = [e for e in embeddings if e is not None]
    return roster


def evaluate_hall(roster_dir: Path, frames_dir: Path, labels: Path | None = None) -> dict:
    """Every frame's readings and the mean ms per frame; with `labels`, the scores too."""
    roster = enrol_roster(roster_dir)
    analyses: dict[str, RoomAnalysis] = {}
    wall_ms: list[float] = []
    for path in tqdm(_images(frames_dir), desc=f"frames {frames_dir.parent.name}", unit="frame"):
        data = path.read_bytes()
        start = time.perf_counter()
        analyses[path.name] = analyse_room_frame(data, roster)
        wall_ms.append(1000 * (time.perf_counter() - start))
    result = {
        "frames": {name: _readings(a) for name, a in analyses.items()},
        "ms_per_frame": round(float(np.mean(wall_ms)), 1) if wall_ms else None,
    }
    if labels is not None:
        truth = json.loads(labels.read_text())["frames"]
        counts = score_counts(analyses, truth) + _cost_counts(analyses, wall_ms)
        result["scores"] = scores(counts)
        result["counts"] = dict(counts)
    return result


def evaluate_halls(halls_dir: Path) -> dict:
    """`evaluate_hall` over every `hall*/` (roster/, frames/, labels.json): per hall and pooled."""
    per_hall, pooled = {}, Counter()
    for hall in sorted(p for p in halls_dir.glob("hall*") if p.is_dir()):
        result = evaluate_hall(hall / "roster", hall / "frames", hall / "labels.json")
        per_hall[hall.name] = result["scores"]
        pooled += Counter(result["counts"])
    return {"halls": per_hall, "total": scores(pooled)}


def _readings(analysis: RoomAnalysis) -> list[dict]:
    return [
        {"box": list(f.box), "student": f.student, "distance": f.distance} for f in analysis.faces
    ]


def score_counts(
    analyses: Mapping[str, RoomAnalysis], truth: Mapping[str, Sequence[dict]]
) -> Counter:
    """Tallies over frames: labelled faces by size bucket and outcome, false detections."""
    counts: Counter = Counter()
    for name, labelled in truth.items():
        faces = analyses[name].faces if name in analyses else []
        pairs = _match([tuple(f["box"]) for f in labelled], [f.box for f in faces])
        for i, label in enumerate(labelled):
            bucket = _bucket(label["box"][2] - label["box"][0])
            counts[f"faces_{bucket}"] += 1
            if i not in pairs:
                continue
            counts[f"found_{bucket}"] += 1
            _count_identity(counts, label["id"], faces[pairs[i]])
        counts["false_detections"] += len(faces) - len(pairs)
        counts["false_assigned"] += sum(
            1 for j, f in enumerate(faces) if j not in pairs.values() and f.student is not None
        )
    return counts


def _count_identity(counts: Counter, truth: str | None, face) -> None:
    if truth is None:
        counts["strangers"] += 1
        counts["strangers_unassigned"] += face.student is None
        return
    counts["enrolled"] += 1
    counts["enrolled_right"] += face.student == truth
    counts["enrolled_wrong"] += face.student is not None and face.student != truth
    counts["enrolled_not_compared"] += face.distance is None


def _cost_counts(analyses: Mapping[str, RoomAnalysis], wall_ms: Sequence[float]) -> Counter:
    compared = sum(1 for a in analyses.values() for f in a.faces if f.distance is not None)
    per_face = sum(a.timings_ms.get(k, 0.0) for a in analyses.values() for k in ("align", "embed"))
    return Counter(
        frames=len(wall_ms),
        wall_ms=sum(wall_ms),
        detect_ms=sum(a.timings_ms.get("detect", 0.0) for a in analyses.values()),
        compared_faces=compared,
        per_face_ms=per_face,
    )


def _match(labels: Sequence[tuple], boxes: Sequence[tuple]) -> dict[int, int]:
    """Label index -> detection index, greedily by IoU (>= MATCH_IOU), one to one."""
    candidates = sorted(
        ((_iou(a, b), i, j) for i, a in enumerate(labels) for j, b in enumerate(boxes)),
        reverse=True,
    )
    pairs: dict[int, int] = {}
    for overlap, i, j in candidates:
        if overlap < MATCH_IOU:
            break
        if i not in pairs and j not in pairs.values():
            pairs[i] = j
    return pairs


def _bucket(width: int) -> str:
    lower = [b for b in SIZE_BUCKETS if width >= b]
    if not lower:
        return f"<{SIZE_BUCKETS[0]}"
    k = SIZE_BUCKETS.index(lower[-1])
    return f"{lower[-1]}+" if k == len(SIZE_BUCKETS) - 1 else f"{lower[-1]}-{SIZE_BUCKETS[k + 1]}"


def scores(counts: Mapping[str, float]) -> dict:
    """Rates from tallies (pooled tallies give pooled rates)."""
    buckets = [key[len("faces_") :] for key in counts if key.startswith("faces_")]
    buckets.sort(key=_lower_edge)
    big = [b for b in buckets if _lower_edge(b) >= RECALL_FROM_PX]
    frames = counts.get("frames", 0)

    def recall(of: list[str]) -> float | None:
        return _rate(
            sum(counts.get(f"found_{b}", 0) for b in of), sum(counts[f"faces_{b}"] for b in of)
        )

    enrolled = counts.get("enrolled", 0)
    return {
        f"recall_faces_{RECALL_FROM_PX}px_plus": recall(big),
        "recall_by_size": {b: recall([b]) for b in buckets},
        "enrolled_right": _rate(counts.get("enrolled_right", 0), enrolled),
        "enrolled_wrong": _rate(counts.get("enrolled_wrong", 0), enrolled),
        "strangers_unassigned": _rate(
            counts.get("strangers_unassigned", 0), counts.get("strangers", 0)
        ),
        "enrolled_detected": enrolled,
        "strangers_detected": counts.get("strangers", 0),
        "enrolled_too_small": counts.get("enrolled_not_compared", 0),
        "false_detections": counts.get("false_detections", 0),
        "false_detections_assigned": counts.get("false_assigned", 0),
        "ms_per_frame": round(counts["wall_ms"] / frames, 1) if frames else None,
        "detect_ms_per_frame": round(counts["detect_ms"] / frames, 1) if frames else None,
        "ms_per_face": round(counts["per_face_ms"] / max(counts["compared_faces"], 1), 2),
        "min_identify_px": MIN_IDENTIFY_PX,
    }


def _lower_edge(bucket: str) -> int:
    """A bucket's lower edge in px ("<40" sorts first, as 0)."""
    return 0 if bucket.startswith("<") else int(bucket.strip("+").split("-")[0])


def _rate(hits: float, total: float) -> float | None:
    return round(hits / total, 4) if total else None


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return bgr[:, :, ::-1].copy()
