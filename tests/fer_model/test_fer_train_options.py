"""`python -m fer_model train`'s options are TrainConfig's and ModelConfig's fields."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from fer_model.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from fer_model.cli import build_parser
from fer_model.models import ModelConfig, default_config
from fer_model.train import TrainConfig, _resumed_config

REPO = Path(__file__).resolve().parents[2]
# The flags the README, RESULTS and past runs use: they keep working.
TRAIN_FLAGS = [
    "--data",
    "--model",
    "--out",
    "--epochs",
    "--batch-size",
    "--optimizer",
    "--lr",
    "--lr-schedule",
    "--weight-decay",
    "--label-smoothing",
    "--mixup",
    "--teacher",
    "--distill-alpha",
    "--seed",
    "--threads",
    "--limit",
    "--fc-layers",
    "--stem",
    "--widths",
    "--blocks",
    "--cov-channels",
    "--dropout",
    "--resume",
    "--init-from",
    "--deepen-to",
    "--calibrate-bn",
    "--save-epochs",
    "--time-budget",
]


def test_every_train_flag_is_still_there(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    words = capsys.readouterr().out.replace(",", " ").split()
    assert [flag for flag in TRAIN_FLAGS if flag not in words] == []


def test_defaults_are_the_dataclasses(tmp_path: Path) -> None:
    args = build_parser().parse_args(["train"])
    assert args.name == ModelConfig.name == "rescov"
    built = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    assert built.pop("out_dir") == "runs/<model>"
    assert built == {k: getattr(TrainConfig, k) for k in built}
    assert {"adapt_threads", "channels_last", "snapshot_epochs", "augment"}.isdisjoint(built)
    # Architecture options not given keep the model's own defaults (None = not given).
    assert args.widths is None and args.fc_layers is None


def test_option_types_and_flags() -> None:
    args = build_parser().parse_args(
        [
            "train",
            "--deepen-to",
            "1,2,2",
            "--time-budget",
            "2.5",
            "--save-epochs",
            "--widths",
            "8,16",
            "--lr",
            "1e-3",
            "--out",
            "runs/<model>-x",
            "--model",
            "resnet",
        ]
    )
    assert args.deepen_to == (1, 2, 2) and args.time_budget_min == 2.5 and args.save_epochs
    assert args.widths == (8, 16) and args.lr == 1e-3 and args.name == "resnet"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--optimizer", "adam"])


def test_a_tiny_training_run_from_the_command_line(tiny_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = f"""train --data {tiny_csv} --out {out} --epochs 1 --batch-size 16 --threads 1
    --stem 8 --widths 8,8,8 --cov-channels 4 --calibrate-bn 32 --label-smoothing 0.05"""
    res = subprocess.run(
        [sys.executable, "-m", "fer_model", *argv.split()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    assert "best PublicTest accuracy" in res.stdout
    ckpt = load_checkpoint(out / "last.pt")
    expected = TrainConfig(
        data=str(tiny_csv),
        out_dir=str(out),
        epochs=1,
        batch_size=16,
        threads=1,
        calibrate_bn=32,
        label_smoothing=0.05,
    )
    assert ckpt["train_config"] == asdict(expected)
    model = default_config("rescov", stem=8, widths=(8, 8, 8), cov_channels=4)
    assert ModelConfig.from_dict(ckpt["model_config"]) == model


def test_the_shipped_checkpoints_configs_still_read() -> None:
    ckpt = load_checkpoint(DEFAULT_WEIGHTS)
    assert set(ckpt["train_config"]) == {f.name for f in fields(TrainConfig)}
    assert set(ckpt["model_config"]) == {f.name for f in fields(ModelConfig)}
    resumed = asdict(_resumed_config(TrainConfig(), ckpt["train_config"]))
    local = ("data", "out_dir", "threads", "adapt_threads")  # where it runs: not resumed
    assert {k: v for k, v in resumed.items() if k not in local} == {
        k: v for k, v in ckpt["train_config"].items() if k not in local
    }
