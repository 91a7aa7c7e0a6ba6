"""Weight averaging of a run's last epochs (`python -m fer_model average`)."""

from pathlib import Path

import pytest
import torch
from conftest import TINY_MODEL
from test_fer_cli import _cli

from fer_model.checkpoint import load_checkpoint
from fer_model.data import load_dataset
from fer_model.experiments.average import average_checkpoints, average_weights
from fer_model.models import default_config
from fer_model.predict import FERPredictor
from fer_model.train import TrainConfig, train


@pytest.fixture
def epochs(tiny_csv: Path, tmp_path: Path) -> list[Path]:
    cfg = TrainConfig(data=str(tiny_csv), out_dir=str(tmp_path / "run"), epochs=3,
                      batch_size=16, threads=1, save_epochs=True)  # fmt: skip
    train(default_config("rescov", **TINY_MODEL), cfg)
    return sorted((tmp_path / "run" / "epochs").glob("e*.pt"))


def test_training_keeps_each_epochs_weights(epochs: list[Path]) -> None:
    assert [p.name for p in epochs] == ["e1.pt", "e2.pt", "e3.pt"]
    assert [load_checkpoint(p)["epoch"] for p in epochs] == [1, 2, 3]


def test_average_is_the_mean_with_batchnorm_re_estimated(
    epochs: list[Path], tiny_csv: Path, tmp_path: Path
) -> None:
    ds = load_dataset(tiny_csv)
    out = tmp_path / "avg.pt"
    result = average_checkpoints(epochs[1:], ds.subset("Training"), ds.subset("PublicTest"), out)
    assert result["epochs"] == [2, 3] and 0.0 <= result["public_test"] <= 1.0
    assert len(result["public_test_of_each"]) == 2
    a, b = (load_checkpoint(p)["model"] for p in epochs[1:])
    averaged = load_checkpoint(out)["model"]
    conv = "features.0.0.weight"
    torch.testing.assert_close(averaged[conv], (a[conv] + b[conv]) / 2)
    bn = "features.0.1.running_mean"  # re-estimated, not averaged
    assert not torch.allclose(averaged[bn], (a[bn] + b[bn]) / 2)
    probs = FERPredictor.from_checkpoint(out).predict(ds.subset("PublicTest").images[:3])
    assert probs.shape == (3, 7)


def test_average_refuses_mixed_architectures(tiny_checkpoint: Path, epochs: list[Path]) -> None:
    other = load_checkpoint(tiny_checkpoint)
    other["model_config"]["blocks"] = [1, 2, 1]
    with pytest.raises(ValueError, match="one architecture"):
        average_weights([load_checkpoint(epochs[0]), other])


def test_average_command(epochs: list[Path], tiny_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "avg.pt"
    done = _cli("average", *map(str, epochs), "--out", str(out), "--data", str(tiny_csv),
                "--threads", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "averaged epochs [1, 2, 3]" in done.stdout and out.exists()
    missing = _cli("average", str(tmp_path / "nope.pt"), "--out", str(out), "--data",
                   str(tiny_csv))  # fmt: skip
    assert missing.returncode == 2 and "not found" in missing.stderr
