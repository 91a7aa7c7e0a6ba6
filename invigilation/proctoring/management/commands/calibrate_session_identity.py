"""Measure same-session face distances on video, against other people's, for the session
anchor's distance model (identity.SESSION_MODEL)."""

import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from invigilation import scenarios, vision
from invigilation.decisions import identity

BURST_SECONDS = 3.0
MARGIN = 0.05  # the midpoint: this far above the same-session distances' 99th percentile
FRAME_STEP = 0.25  # seconds between sampled frames: the check-in burst's rate, 4 frames/s


class Command(BaseCommand):
    help = (
        "For every clip and every check-in burst start (each whole second), the distance of "
        "the clip's later frames to the burst's faces (same session) and of the other clips' "
        "frames (other people); percentiles, leave-one-clip-out checks of the session "
        "model's midpoint, and a histogram."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--videos", type=Path, required=True, help="folder of clips")
        parser.add_argument("--plot", type=Path, help="write the histogram here (PNG)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, videos: Path, plot: Path | None, json: bool, **options) -> None:
        clips = sorted(videos.glob("*.mp4"))
        if len(clips) < 2:
            raise CommandError(f"Need at least two clips (*.mp4) in {videos}.")
        faces = {clip.stem: _faces(clip) for clip in clips}
        genuine, impostor = _distances(faces)
        report = _report(genuine, impostor)
        if plot:
            _plot(genuine, impostor, plot)
            report["plot"] = str(plot)
        self.stdout.write(_dumps(report) if json else _table(report))


def _faces(clip: Path) -> list[tuple[float, np.ndarray]]:
    """(time, embedding) of the single face in each sampled frame of the clip, as sent."""
    segment = {"video": clip, "seconds": scenarios.clip_seconds(clip)}
    checks = vision.Checks(expression=False, gaze=False, quality=False, embed=True)
    out = []
    frames = list(scenarios.frames([segment], 1 / FRAME_STEP))
    for at, jpeg in tqdm(frames, desc=clip.stem, unit="frame"):
        result = vision.analyse_frame(jpeg, None, checks)
        if result.face_count == 1:
            out.append((at, result.faces[0].embedding))
    return out


def _distances(faces: dict) -> tuple[dict, dict]:
    """genuine[clip]: later frames against each burst of the same clip; impostor[(a, b)]:
    clip b's frames against each burst of clip a."""
    genuine: dict[str, list[float]] = {}
    impostor: dict[tuple[str, str], list[float]] = {}
    for name, series in faces.items():
        end = series[-1][0]
        for start in np.arange(0.0, max(end - BURST_SECONDS, 0.0) + 1e-9, 1.0):
            # The burst: its frames at the check-in rate (FRAME_STEP divides 1 / BURST_FPS).
            anchor = np.stack([e for t, e in series if start <= t < start + BURST_SECONDS])
            later = [e for t, e in series if not start <= t < start + BURST_SECONDS]
            genuine.setdefault(name, []).extend(_nearest(later, anchor))
            for other, other_series in faces.items():
                if other != name:
                    distances = _nearest([e for _, e in other_series], anchor)
                    impostor.setdefault((name, other), []).extend(distances)
    return genuine, impostor


def _nearest(embeddings: list[np.ndarray], anchor: np.ndarray) -> list[float]:
    return [float(np.linalg.norm(anchor - e, axis=1).min()) for e in embeddings]


def _percentiles(values: list[float]) -> dict:
    p = np.percentile(values, [1, 5, 50, 95, 99])
    return {"n": len(values), "min": round(min(values), 3), "p1": round(p[0], 3),
            "p5": round(p[1], 3), "median": round(p[2], 3), "p95": round(p[3], 3),
            "p99": round(p[4], 3), "max": round(max(values), 3)}  # fmt: skip


def _report(genuine: dict, impostor: dict) -> dict:
    midpoint = identity.SESSION_MODEL.midpoint
    pooled = [v for values in genuine.values() for v in values]
    report = {
        "midpoint": midpoint,
        "fitted_midpoint": round(float(np.percentile(pooled, 99)) + MARGIN, 3),
        "genuine": {name: _percentiles(values) for name, values in genuine.items()},
        "impostor": {f"{a} anchor, {b} face": _percentiles(v) for (a, b), v in impostor.items()},
        "leave_one_clip_out": [],
    }
    for held_out in genuine:
        # The midpoint the other clips would have given.
        others = [v for name, values in genuine.items() if name != held_out for v in values]
        fitted = float(np.percentile(others, 99)) + MARGIN
        held = np.array(genuine[held_out])
        report["leave_one_clip_out"].append({
            "held_out": held_out,
            "midpoint_from_others": round(fitted, 3),
            "held_out_genuine_above": round(float((held > fitted).mean()), 4),
            "impostors_below": {
                f"{a}/{b}": round(float((np.array(v) < fitted).mean()), 4)
                for (a, b), v in impostor.items() if held_out in (a, b)
            },
        })  # fmt: skip
    report["shipped_midpoint"] = {
        "genuine_above": round(float((np.array(pooled) > midpoint).mean()), 4),
        "impostors_below": {
            f"{a}/{b}": round(float((np.array(v) < midpoint).mean()), 4)
            for (a, b), v in impostor.items()
        },
    }  # fmt: skip
    return report


def _plot(genuine: dict, impostor: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4))
    bins = np.linspace(0, 1.0, 81)
    for name, values in genuine.items():
        axes.hist(values, bins, alpha=0.5, density=True, label=f"same session ({name})")
    for (a, b), values in impostor.items():
        if a < b:
            both = values + impostor[(b, a)]
            axes.hist(both, bins, histtype="step", density=True, label=f"{a} vs {b}")
    axes.axvline(identity.SESSION_MODEL.midpoint, color="k", linestyle="--",
                 label=f"session midpoint {identity.SESSION_MODEL.midpoint}")  # fmt: skip
    axes.axvline(identity.PHOTO_THRESHOLD, color="grey", linestyle=":",
                 label=f"LFW threshold {identity.PHOTO_THRESHOLD}")  # fmt: skip
    axes.set_xlabel("distance to the check-in burst's nearest face")
    axes.set_ylabel("density")
    axes.set_title("Same session (same person, same camera) vs other people")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=1)


def _table(report: dict) -> str:
    lines = [f"{'distances':34} {'n':>6} {'p1':>6} {'p50':>6} {'p99':>6} {'max':>6}"]
    rows = {**{f"same session {k}": v for k, v in report["genuine"].items()},
            **report["impostor"]}  # fmt: skip
    for name, p in rows.items():
        lines.append(f"{name:34} {p['n']:>6} {p['p1']:>6} {p['median']:>6} {p['p99']:>6} "
                     f"{p['max']:>6}")  # fmt: skip
    lines.append(f"\nfitted midpoint (same-session p99 + {MARGIN}): {report['fitted_midpoint']}")
    lines.append(f"leave one clip out (midpoint = others' same-session p99 + {MARGIN}):")
    for row in report["leave_one_clip_out"]:
        lines.append(f"  {row['held_out']}: midpoint {row['midpoint_from_others']}, held-out "
                     f"genuine above {row['held_out_genuine_above']:.2%}, impostors below "
                     f"{row['impostors_below']}")  # fmt: skip
    shipped = report["shipped_midpoint"]
    lines.append(
        f"shipped midpoint {report['midpoint']}: genuine above "
        f"{shipped['genuine_above']:.2%}, impostors below {shipped['impostors_below']}"
    )
    return "\n".join(lines)
