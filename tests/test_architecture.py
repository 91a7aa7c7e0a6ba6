"""The layers of ARCHITECTURE.md, read from the code's own imports (every `import` statement,
at module level or inside a function): nothing imports up a floor, and the Django-free packages
import without Django."""

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Floors of pure packages, bottom first: each may import the ones before it.
PURE = ("fer_model", "decisions", "vision", "scenarios")
PURE_MAY_IMPORT = {
    "fer_model": set(),
    "decisions": set(),
    "vision": {"fer_model", "decisions"},
    "scenarios": {"fer_model", "decisions", "vision"},
}
# The domain modules of the Django apps (models, services, selectors, tasks...), bottom first.
DOMAIN = ("core", "accounts", "students", "exams", "audit", "invitations", "proctoring",
          "kiosk", "rooms", "reports", "retention")  # fmt: skip
# Apps that are pages or tools as a whole, and the interface modules of every app: the top floor.
TOP_APPS = {"dashboard", "server", "benchmarks"}
INTERFACE_MODULES = {"admin", "api", "views", "urls", "serializers", "forms", "consumers",
                     "permissions", "authentication", "throttles", "login", "routing",
                     "templatetags", "management", "apps", "api_urls"}  # fmt: skip
# Under invigilation/, env (settings helpers) and formats (locale data) are ground floor; the
# other project modules (settings, urls, asgi...) wire everything up.
GROUND_MODULES = {"env", "formats"}
FRAMEWORKS = {"django", "rest_framework", "channels", "channels_redis", "celery", "daphne",
              "drf_spectacular", "django_filters", "redis", "uvicorn"}  # fmt: skip


@dataclass(frozen=True)
class Unit:
    """Where a module sits: its package and floor."""

    package: str
    floor: str  # "pure", "domain" or "top"

    @property
    def rank(self) -> tuple[int, int]:
        if self.floor == "pure":
            return (0, PURE.index(self.package))
        if self.floor == "domain":
            return (1, DOMAIN.index(self.package))
        return (2, 0)


def unit_of(module: str) -> Unit | None:
    """The unit of one of our modules (None for anything else)."""
    parts = module.split(".")
    if parts[0] == "fer_model":
        return Unit("fer_model", "pure")
    if parts[0] != "invigilation":
        return None
    if len(parts) == 1:
        return Unit("invigilation", "top")
    package = parts[1]
    if package in PURE:
        return Unit(package, "pure")
    if package in GROUND_MODULES:
        return Unit("core", "domain")
    if package in DOMAIN and not (len(parts) > 2 and parts[2] in INTERFACE_MODULES):
        return Unit(package, "domain")
    if (
        package in DOMAIN
        or package in TOP_APPS
        or (ROOT / "invigilation" / f"{package}.py").exists()
    ):
        return Unit(package, "top")
    raise AssertionError(f"{module}: a package ARCHITECTURE.md and this test do not place")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file; `from a import b` names a.b when
    b is a module."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if is_module(full) else base))
    return found


def our_files() -> list[Path]:
    return sorted(
        p for p in [*ROOT.glob("invigilation/**/*.py"), *ROOT.glob("fer_model/**/*.py")]
        if "migrations" not in p.parts
    )  # fmt: skip


def violations() -> list[str]:
    found = []
    for path in our_files():
        source = unit_of(module_name(path))
        for line, imported in imports_of(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {imported}"
            top = imported.split(".")[0]
            target = unit_of(imported)
            if source.floor == "pure":
                if top in FRAMEWORKS:
                    found.append(f"{where}: a Django-free package imports a framework")
                elif (
                    source.package == "decisions"
                    and target is None
                    and (top not in sys.stdlib_module_names)
                ):
                    found.append(f"{where}: decisions uses the standard library only")
                elif (
                    target
                    and target.package != source.package
                    and (target.package not in PURE_MAY_IMPORT[source.package])
                ):
                    found.append(f"{where}: {source.package} may not import {target.package}")
            elif (
                source.floor == "domain"
                and target
                and target.package != source.package
                and (target.rank >= source.rank)
            ):
                found.append(f"{where}: {source.floor} {source.package} imports up or across")
    return found


def test_no_module_imports_up_a_floor():
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The reader itself: a domain module of exams importing proctoring is caught."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "invigilation" / "exams").mkdir(parents=True)
    (tmp_path / "invigilation" / "proctoring").mkdir()
    for package in ("invigilation", "invigilation/exams", "invigilation/proctoring"):
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "invigilation/proctoring/models.py").write_text("")
    (tmp_path / "invigilation/exams/services.py").write_text(
        "def f():\n    from invigilation.proctoring import models\n"
    )
    (tmp_path / "invigilation/exams/admin.py").write_text("from ..proctoring import models\n")
    assert violations() == [
        "invigilation/exams/services.py:2 imports invigilation.proctoring.models: "
        "domain exams imports up or across"
    ]


def test_every_package_has_a_place():
    packages = {p.parent.name for p in ROOT.glob("invigilation/*/__init__.py")}
    placed = set(PURE) | set(DOMAIN) | TOP_APPS | GROUND_MODULES
    assert packages <= placed, packages - placed


@pytest.mark.parametrize(
    "modules",
    [
        "invigilation.decisions.rules, invigilation.decisions.identity, "
        "invigilation.decisions.liveness",
        "invigilation.vision, invigilation.vision.frame_observation, "
        "invigilation.vision.check_in_assessment",
        "invigilation.scenarios, invigilation.scenarios.evaluation",
        "fer_model, fer_model.predict, fer_model.cli",
    ],
)
def test_pure_packages_import_without_django(modules):
    """In a fresh interpreter without Django settings, nothing of Django or Celery is loaded."""
    code = (
        f"import sys, {modules}\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))\n"
        "print(','.join(loaded))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", code, *sorted(FRAMEWORKS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
