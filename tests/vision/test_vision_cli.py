"""The evaluation CLI prints one JSON object with the documented keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "invigilation.vision", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_evaluate_pairs_json(lfw_dir: Path, tmp_path: Path) -> None:
    lines = (lfw_dir / "pairs.tsv").read_text().splitlines()
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("\n".join(lines[:4] + lines[-3:]) + "\n")  # header, 3 same, 3 different
    out = _run(
        "evaluate-pairs", "--pairs", str(pairs), "--images", str(lfw_dir / "images"), "--json"
    )
    keys = {"pairs", "accuracy", "threshold", "tar_at_far_1e-3", "failed_to_detect", "ms_per_image"}
    assert keys <= set(out)
    assert out["pairs"] == 6 and 0 <= out["accuracy"] <= 1 and out["failed_to_detect"] >= 0


def test_bench_json(video_path: Path) -> None:
    out = _run("bench", "--video", str(video_path), "--frames", "3", "--json")
    keys = {"frames", "decode_ms", "detect_ms", "embed_ms", "expression_ms", "total_ms"}
    assert keys <= set(out)
    assert out["frames"] == 3 and out["total_ms"] > out["detect_ms"] > 0
