"""The shipped model: loads, is small, and is well above chance on real FER2013 PublicTest faces."""

from pathlib import Path

import numpy as np

from fer_model.checkpoint import DEFAULT_WEIGHTS
from fer_model.evaluate import load_eval_split
from fer_model.predict import FERPredictor, default_predictor


def test_shipped_checkpoint_exists_and_is_small() -> None:
    assert DEFAULT_WEIGHTS.exists(), "export one: python -m fer_model export --checkpoint ..."
    assert DEFAULT_WEIGHTS.stat().st_size < 20e6


def test_shipped_model_accuracy_on_first_200_public_test_faces(fer_csv: Path) -> None:
    ds = load_eval_split(fer_csv, "PublicTest", limit=200)
    predictor = default_predictor()
    probs = predictor.predict_images(ds.images)
    acc = float((probs.argmax(1) == ds.labels).mean())
    assert acc >= 0.55, f"accuracy {acc:.3f} on the first 200 PublicTest faces"  # chance ~ 0.25
    # Same faces, another batch size: oneDNN may pick other kernels (~1e-7 apart), so not exact.
    np.testing.assert_allclose(predictor.predict_images(ds.images[:20]), probs[:20], atol=1e-6)
    assert default_predictor() is predictor  # loaded once


def test_shipped_model_on_jaffe_runs(jaffe_dir: Path) -> None:
    ds = load_eval_split(jaffe_dir)
    probs = FERPredictor.from_checkpoint().predict_images(ds.images[:16])
    assert probs.shape == (16, 7)
