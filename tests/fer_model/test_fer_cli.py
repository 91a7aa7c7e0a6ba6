import json
import subprocess
import sys
from pathlib import Path

from conftest import write_tiny_csv

from fer_model.experiments.compare import run_comparison, write_report

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fer_model", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_evaluate_json_schema_and_plot(
    tiny_csv: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "conf.png"
    res = _cli(
        "evaluate",
        "--data",
        str(tiny_csv),
        "--checkpoint",
        str(tiny_checkpoint),
        "--json",
        "--plot",
        str(plot),
        "--threads",
        "1",
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)  # exactly one JSON object on stdout
    assert set(out) >= {"accuracy", "n", "per_class", "confusion", "ms_per_face"}
    assert out["n"] == 28 and 0 <= out["accuracy"] <= 1
    assert len(out["per_class"]) == 7 and len(out["confusion"]) == 7
    assert sum(map(sum, out["confusion"])) == 28
    assert out["views"] == "mirror"  # the product's default
    assert plot.stat().st_size > 1000


def test_evaluate_image_folder_tta(tiny_folder: Path, tiny_checkpoint: Path) -> None:
    res = _cli(
        "evaluate",
        "--data",
        str(tiny_folder),
        "--checkpoint",
        str(tiny_checkpoint),
        "--json",
        "--tta",
        "--threads",
        "1",
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["n"] == 14 and out["views"] == "ten-crop"


def test_evaluate_single_view_and_unknown_views(tiny_csv: Path, tiny_checkpoint: Path) -> None:
    args = ("evaluate", "--data", str(tiny_csv), "--checkpoint", str(tiny_checkpoint), "--json")
    res = _cli(*args, "--views", "single")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["views"] == "single"
    res = _cli(*args, "--views", "flip")
    assert res.returncode == 2 and "invalid choice: 'flip'" in res.stderr


def test_evaluate_missing_usage_is_clear_error(tiny_csv: Path, tiny_checkpoint: Path) -> None:
    res = _cli(
        "evaluate",
        "--data",
        str(tiny_csv),
        "--checkpoint",
        str(tiny_checkpoint),
        "--usage",
        "PrivateTest",
        "--json",
    )
    assert res.returncode != 0 and "no rows with Usage=PrivateTest" in res.stderr
    assert res.stdout == ""


def test_compare_smoke(tmp_path: Path, tiny_folder: Path) -> None:
    csv = write_tiny_csv(tmp_path / "c.csv", n_train=32, n_test=14)
    rows = run_comparison(
        str(csv),
        str(tiny_folder),
        epochs=[2, 1],
        fc_layers=[1, 2],
        models=["baseline", "covpool"],
        runs_dir=str(tmp_path / "runs"),
        threads=1,
        widths=(8, 16),
    )
    assert [(r["model"], r["fc_layers"], r["epochs"]) for r in rows] == [
        ("baseline", 1, 1),
        ("baseline", 1, 2),
        ("baseline", 2, 1),
        ("baseline", 2, 2),
        ("covpool", 1, 1),
        ("covpool", 1, 2),
        ("covpool", 2, 1),
        ("covpool", 2, 2),
    ]
    first, second = rows[0], rows[1]  # one run read after 1 and after 2 epochs
    assert first["train_s"] <= second["train_s"]
    assert (tmp_path / "runs" / "baseline-fc1" / "best-e1.pt").exists()
    assert all(0 <= r["public_test"] <= 1 and 0 <= r["jaffe"] <= 1 for r in rows)
    md, png = write_report(rows, tmp_path / "out" / "RESULTS-compare", "smoke")
    assert md.read_text().count("\n| ") == 9 and png.stat().st_size > 1000
