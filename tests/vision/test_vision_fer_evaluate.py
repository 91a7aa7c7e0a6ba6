"""`python -m invigilation.vision fer-evaluate`: fer_model's evaluate with the product's face
cropper (image folders such as JAFFE, faces cropped as live frames are)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from invigilation.vision.__main__ import main


@pytest.fixture
def folder(tmp_path: Path, webcam_frame: np.ndarray) -> Path:
    for name, image in [("happy", webcam_frame), ("sad", np.full((256, 256), 128, np.uint8))]:
        (tmp_path / name).mkdir()
        cv2.imwrite(str(tmp_path / name / "a.png"), image)
    return tmp_path


def test_json_is_fer_model_evaluates(folder: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["fer-evaluate", "--data", str(folder), "--json", "--threads", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 1  # the blank image has no face: reported and left out
    assert set(out) >= {"accuracy", "per_class", "confusion", "ms_per_face", "views"}
    assert out["per_class"]["happy"] in (0.0, 1.0) and out["per_class"]["sad"] is None


def test_table_and_data_error(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["fer-evaluate", "--data", str(folder), "--views", "single"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.startswith("accuracy | n | views | ms_per_face | angry")
    assert " | 1 | single | " in row
    with pytest.raises(SystemExit) as exc:
        main(["fer-evaluate", "--data", str(tmp_path / "missing")])
    assert exc.value.code == 2 and "error:" in capsys.readouterr().err
