"""Distillation from a teacher's TTA probabilities, and the constant LR schedule for averaging."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_MODEL

from fer_model.checkpoint import load_checkpoint
from fer_model.data import load_dataset
from fer_model.models import default_config
from fer_model.predict import FERPredictor
from fer_model.train import (
    LRSchedule,
    TrainConfig,
    target_distribution,
    teacher_probabilities,
    train,
)


def test_target_without_teacher_is_label_smoothing() -> None:
    y = torch.tensor([0, 3, 6])
    target = target_distribution(y, 7, TrainConfig(label_smoothing=0.1))
    torch.testing.assert_close(target.sum(1), torch.ones(3))
    assert target[1, 3] == pytest.approx(0.9 + 0.1 / 7)
    logits = torch.randn(3, 7)
    torch.testing.assert_close(
        F.cross_entropy(logits, target), F.cross_entropy(logits, y, label_smoothing=0.1)
    )


def test_target_blends_teacher_probabilities() -> None:
    y = torch.tensor([2, 5])
    soft = torch.softmax(torch.randn(2, 7), 1)
    cfg = TrainConfig(label_smoothing=0.0, distill_alpha=0.25)
    target = target_distribution(y, 7, cfg, soft)
    torch.testing.assert_close(target, 0.75 * F.one_hot(y, 7).float() + 0.25 * soft)
    torch.testing.assert_close(target.sum(1), torch.ones(2))
    only_teacher = target_distribution(y, 7, TrainConfig(distill_alpha=1.0), soft)
    torch.testing.assert_close(only_teacher, soft)


def test_teacher_probabilities_are_its_ten_crop_predictions(
    tiny_csv: Path, tiny_checkpoint: Path
) -> None:
    images = load_dataset(tiny_csv).subset("Training").images[:10]
    probs = teacher_probabilities(str(tiny_checkpoint), images)
    assert probs.shape == (10, 7)
    expected = FERPredictor.from_checkpoint(tiny_checkpoint).predict_images(images, "ten-crop")
    np.testing.assert_allclose(probs.numpy(), expected, atol=1e-6)


def test_constant_schedule_holds_the_peak_after_warm_up() -> None:
    sched = LRSchedule(1e-3, total_steps=100, shape="constant")
    assert sched.lr(0.0) < 1e-3  # warm-up still ramps
    assert sched.lr(0.3) == sched.lr(0.99) == 1e-3
    cosine = LRSchedule(1e-3, total_steps=100)
    assert cosine.lr(0.99) < 1e-5
    with pytest.raises(ValueError, match="schedule"):
        LRSchedule(1e-3, total_steps=100, shape="step")


def test_training_with_a_teacher(tiny_csv: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(data=str(tiny_csv), out_dir=str(tmp_path / "kd"), epochs=2, batch_size=16,
                      threads=1, teacher=str(tiny_checkpoint), init_from=str(tiny_checkpoint),
                      lr_schedule="constant", optimizer="adamw", lr=1e-3)  # fmt: skip
    metrics = train(default_config("rescov", **TINY_MODEL), cfg)
    assert [h["lr"] for h in metrics["history"]][-1] == pytest.approx(1e-3)
    saved = load_checkpoint(tmp_path / "kd" / "last.pt")["train_config"]
    assert saved["teacher"] == str(tiny_checkpoint) and saved["lr_schedule"] == "constant"


def test_distill_alpha_out_of_range_is_clear_error(tiny_csv: Path, tiny_checkpoint: Path) -> None:
    cfg = TrainConfig(data=str(tiny_csv), teacher=str(tiny_checkpoint), distill_alpha=1.5)
    with pytest.raises(ValueError, match="distill_alpha"):
        train(default_config("rescov", **TINY_MODEL), cfg)
