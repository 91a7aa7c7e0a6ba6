import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_MODEL

from fer_model import __version__
from fer_model import train as train_module
from fer_model.checkpoint import export_checkpoint, load_checkpoint, model_from_checkpoint
from fer_model.models import default_config
from fer_model.predict import FERPredictor
from fer_model.train import TrainConfig, train


def test_checkpoint_round_trip(tiny_checkpoint: Path) -> None:
    ckpt = load_checkpoint(tiny_checkpoint)
    assert ckpt["version"] == __version__ and len(ckpt["class_names"]) == 7
    assert {"mean", "std", "input_size"} <= set(ckpt["norm"])
    model = model_from_checkpoint(ckpt)
    x = torch.randn(2, 1, 44, 44)
    with torch.no_grad():
        torch.testing.assert_close(
            model(x), model_from_checkpoint(load_checkpoint(tiny_checkpoint))(x)
        )
    assert not list(tiny_checkpoint.parent.glob(".*.tmp"))  # atomic write left no temp file


def test_predictor_on_any_input(tiny_checkpoint: Path) -> None:
    pred = FERPredictor.from_checkpoint(tiny_checkpoint)
    faces = [np.zeros((48, 48), np.uint8), np.full((90, 70, 3), 200, np.uint8)]
    probs = pred.predict(faces)
    assert probs.shape == (2, 7) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(pred.predict(faces), probs)  # deterministic
    eager = FERPredictor.from_checkpoint(tiny_checkpoint, optimize=False).predict(faces)
    np.testing.assert_allclose(eager, probs, atol=1e-5)
    assert pred.predict(faces, "ten-crop").shape == (2, 7)
    assert pred.predict([]).shape == (0, 7)


def test_predictor_default_averages_each_face_with_its_mirror_image(
    tiny_checkpoint: Path,
) -> None:
    pred = FERPredictor.from_checkpoint(tiny_checkpoint)
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    single = pred.predict(faces, "single")
    mirrored = pred.predict(faces[:, :, ::-1], "single")
    np.testing.assert_allclose(pred.predict(faces), (single + mirrored) / 2, atol=1e-6)
    assert not np.allclose(single, mirrored)  # the two views really differ
    with pytest.raises(ValueError, match="unknown views 'five-crop'"):
        pred.predict(faces, "five-crop")


def test_train_resume_is_exact_then_warm_start_and_export(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_cfg = default_config("rescov", **TINY_MODEL)

    def config(out: str, **kw: object) -> TrainConfig:
        kw = {"epochs": 2, "batch_size": 16, "threads": 1, **kw}
        return TrainConfig(data=str(tiny_csv), out_dir=str(tmp_path / out), **kw)

    train(model_cfg, config("full"))
    real_epoch = train_module._train_epoch

    def crash_in_second_epoch(run, cfg, epoch):  # noqa: ANN001, ANN202
        if epoch == 1:
            raise KeyboardInterrupt
        return real_epoch(run, cfg, epoch)

    monkeypatch.setattr(train_module, "_train_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(model_cfg, config("crashed"))
    monkeypatch.setattr(train_module, "_train_epoch", real_epoch)
    assert load_checkpoint(tmp_path / "crashed" / "last.pt")["epoch"] == 1
    metrics = train(model_cfg, config("crashed"), resume=True)
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    full = load_checkpoint(tmp_path / "full" / "last.pt")
    resumed = load_checkpoint(tmp_path / "crashed" / "last.pt")
    for k, v in full["model"].items():
        torch.testing.assert_close(resumed["model"][k], v, msg=k)

    shipped = export_checkpoint(tmp_path / "full" / "best.pt", tmp_path / "w" / "default.pt")
    exported = load_checkpoint(shipped)
    assert "optimizer" not in exported and exported["metrics"]["history"]
    warm = train(model_cfg, config("warm", init_from=str(shipped), epochs=1))
    assert len(warm["history"]) == 1
    deep = train(model_cfg, config("deep", init_from=str(shipped), deepen_to=(1, 2, 1), epochs=1))
    assert len(deep["history"]) == 1
    grown = load_checkpoint(tmp_path / "deep" / "last.pt")
    assert tuple(grown["model_config"]["blocks"]) == (1, 2, 1)
    assert model_from_checkpoint(grown)(torch.zeros(1, 1, 44, 44)).shape == (1, 7)
    with pytest.raises(ValueError, match="init-from"):
        train(model_cfg, config("no-source", deepen_to=(1, 2, 1)))


def test_missing_checkpoint_is_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nope.pt")


def test_time_budget_spent_in_evaluation_ends_the_run(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_accuracy = train_module.accuracy

    def slow_evaluation(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        time.sleep(1.5)  # longer than the whole budget
        return real_accuracy(*args, **kwargs)

    monkeypatch.setattr(train_module, "accuracy", slow_evaluation)
    cfg = TrainConfig(data=str(tiny_csv), out_dir=str(tmp_path / "budget"), epochs=5,
                      batch_size=16, threads=1, time_budget_min=1 / 60)  # fmt: skip
    history = train(default_config("rescov", **TINY_MODEL), cfg)["history"]
    assert len(history) == 1 and history[0]["loss"] > 0  # no empty epoch logged after the budget
