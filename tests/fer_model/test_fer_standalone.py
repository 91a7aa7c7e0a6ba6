"""fer_model stands alone: it imports nothing of the product (invigilation, Django), and its
runtime (what the product loads to predict) imports neither training nor the experiments."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import fer_model

PACKAGE = Path(fer_model.__file__).resolve().parent
REPO = PACKAGE.parent
# What the product needs to predict: nothing here may import training or experiment code.
RUNTIME = ("__init__", "augment", "checkpoint", "covpool", "data", "models", "options", "predict")
TRAINING = ("train", "evaluate", "batchnorm")

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import fer_model, fer_model.experiments
names = [m.name for pkg in (fer_model, fer_model.experiments)
         for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + ".")]
for name in names:
    if not name.endswith("__main__"):
        importlib.import_module(name)
from fer_model.cli import build_parser
build_parser()  # every command's options
print(json.dumps({"imported": names, "modules": sorted(sys.modules)}))
"""


def _imports(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)  # submodules
    return names


def _in(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_a_fresh_interpreter_imports_all_of_fer_model_without_the_product() -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}  # no DJANGO_SETTINGS_MODULE
    res = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert {"fer_model.predict", "fer_model.cli", "fer_model.experiments.compare"} <= set(
        out["imported"]
    )
    assert [m for m in out["modules"] if _in(m, ("invigilation", "django"))] == []


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_fer_model_file_imports_the_product(path: Path) -> None:
    assert [m for m in _imports(path) if _in(m, ("invigilation", "django"))] == []


@pytest.mark.parametrize("name", RUNTIME)
def test_the_runtime_imports_neither_training_nor_experiments(name: str) -> None:
    later = ("fer_model.experiments", *(f"fer_model.{m}" for m in (*TRAINING, "cli")))
    assert [m for m in _imports(PACKAGE / f"{name}.py") if _in(m, later)] == []


def test_every_top_level_module_is_runtime_training_or_the_command_line() -> None:
    # A new module has to be placed: runtime (checked above), training, or an experiment.
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top == {*RUNTIME, *TRAINING, "cli", "__main__"}


def test_experiments_are_a_subpackage() -> None:
    names = {p.stem for p in (PACKAGE / "experiments").glob("*.py")}
    assert {"compare", "average", "bench"} <= names
