"""`python -m invigilation.vision evaluate-hall` on one hall-dev frame: the JSON it prints, with
and without labels, and the all-halls form (skipped without the shared data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from invigilation.vision.__main__ import main

SCORES = {
    "recall_faces_48px_plus", "recall_by_size", "enrolled_right", "enrolled_wrong",
    "strangers_unassigned", "false_detections", "ms_per_frame", "ms_per_face",
}  # fmt: skip


@pytest.fixture(scope="module")
def hall(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hall-dev's hall1 cut to its first frame (roster linked, labels of that frame only)."""
    source = shared_data / "hall-dev" / "hall1"
    if not source.is_dir():
        pytest.skip(f"hall-dev not found at {source}")
    root = tmp_path_factory.mktemp("halls")
    hall = root / "hall1"
    (hall / "frames").mkdir(parents=True)
    (hall / "roster").symlink_to(source / "roster")
    (hall / "frames" / "f1.jpg").symlink_to(source / "frames" / "f1.jpg")
    labels = json.loads((source / "labels.json").read_text())
    labels["frames"] = {"f1.jpg": labels["frames"]["f1.jpg"]}
    (hall / "labels.json").write_text(json.dumps(labels))
    return hall


def run(capsys: pytest.CaptureFixture, *args: str) -> dict:
    assert main(["evaluate-hall", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_one_hall_json(hall: Path, capsys: pytest.CaptureFixture) -> None:
    out = run(capsys, "--roster", str(hall / "roster"), "--frames", str(hall / "frames"),
              "--labels", str(hall / "labels.json"))  # fmt: skip
    assert set(out) == {"frames", "ms_per_frame", "scores"}
    faces = out["frames"]["f1.jpg"]
    assert len(faces) >= 30 and out["ms_per_frame"] > 0
    roster = {p.name for p in (hall / "roster").iterdir()}
    for face in faces:
        assert set(face) == {"box", "student", "distance"} and len(face["box"]) == 4
        assert face["student"] is None or face["student"] in roster
        assert face["distance"] is None or face["distance"] >= 0
    scores = out["scores"]
    assert set(scores) >= SCORES
    assert {"40-48", "48-64", "64-80", "80-100", "100+"} == set(scores["recall_by_size"])
    assert scores["recall_faces_48px_plus"] >= 0.9 and scores["enrolled_wrong"] <= 0.05


def test_without_labels_only_readings(hall: Path, capsys: pytest.CaptureFixture) -> None:
    out = run(capsys, "--roster", str(hall / "roster"), "--frames", str(hall / "frames"))
    assert set(out) == {"frames", "ms_per_frame"} and list(out["frames"]) == ["f1.jpg"]


def test_all_halls(hall: Path, capsys: pytest.CaptureFixture) -> None:
    out = run(capsys, "--halls", str(hall.parent))
    assert list(out["halls"]) == ["hall1"] and set(out["total"]) >= SCORES
    assert out["total"]["recall_by_size"] == out["halls"]["hall1"]["recall_by_size"]
