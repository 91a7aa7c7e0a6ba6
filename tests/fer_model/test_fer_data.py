import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import write_tiny_csv

from fer_model.data import CLASS_NAMES, load_csv, load_dataset, load_image_folder, to_face48


def test_csv_loader_plain_and_gz(tmp_path: Path) -> None:
    for gz in (False, True):
        path = write_tiny_csv(tmp_path / f"t{int(gz)}.csv{'.gz' if gz else ''}", 14, 7, gz=gz)
        ds = load_csv(path)
        assert ds.images.shape == (21, 48, 48) and ds.images.dtype == np.uint8
        assert ds.labels.tolist()[:8] == [0, 1, 2, 3, 4, 5, 6, 0]
        assert len(ds.subset("Training")) == 14 and len(ds.subset("PublicTest")) == 7
        assert ds.problems == []


def test_csv_loader_reports_malformed_rows_with_line_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = " ".join(["7"] * 2304)
    lines = [
        "emotion,pixels,Usage",
        f"3,{good},Training",  # line 2: ok
        f"3,{' '.join(['7'] * 2303)},Training",  # line 3: short
        f"3,{good.replace('7', 'x', 1)},Training",  # line 4: non-numeric
        f"9,{good},Training",  # line 5: bad label
        f"a,{good},Training",  # line 6: bad label
        f"3,{good},Validation",  # line 7: unknown usage
        f"3,{good.replace('7', '300', 1)},PublicTest",  # line 8: out of range
        f"0,{good},PublicTest",  # line 9: ok
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        ds = load_csv(path)
    assert len(ds) == 2 and ds.labels.tolist() == [3, 0]
    assert [p.split(":")[0] for p in ds.problems] == [f"line {n}" for n in (3, 4, 5, 6, 7, 8)]
    assert "2303" in ds.problems[0] and "non-numeric" in ds.problems[1]
    assert "6 malformed" in caplog.text
    # The cache keeps the problem list.
    assert load_csv(path).problems == ds.problems


def test_image_folder_loader(tiny_folder: Path) -> None:
    (tiny_folder / "happy" / "broken.png").write_bytes(b"not an image")
    (tiny_folder / "bored").mkdir()
    cv2.imwrite(str(tiny_folder / "sad" / "c.tiff"), np.full((100, 80, 3), 9, np.uint8))
    ds = load_dataset(tiny_folder)
    assert ds.images.shape == (15, 48, 48) and ds.images.dtype == np.uint8
    assert sorted(set(ds.labels.tolist())) == list(range(7))
    assert (ds.labels == CLASS_NAMES.index("sad")).sum() == 3
    assert len(ds.problems) == 2
    assert any("broken.png" in p for p in ds.problems) and any("bored" in p for p in ds.problems)


def test_image_folder_face_cropper_hook(tiny_folder: Path) -> None:
    calls = []

    def cropper(img: np.ndarray) -> np.ndarray | None:
        calls.append(img.shape)
        return None if len(calls) == 1 else img[:20, :20]  # first image: "no face"

    ds = load_image_folder(tiny_folder, face_cropper=cropper)
    assert len(calls) == 14 and len(ds) == 13
    assert all(len(shape) == 2 for shape in calls)  # the cropper always sees grey
    assert "no face found" in ds.problems[0]


def test_to_face48_handles_grey_bgr_bgra() -> None:
    for shape in [(48, 48), (10, 12), (200, 150, 3), (60, 60, 4)]:
        out = to_face48(np.zeros(shape, np.uint8))
        assert out.shape == (48, 48) and out.dtype == np.uint8
