"""Dataset loading: the FER2013 CSV layout and image-folder datasets, as uint8 48x48 arrays."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
USAGES: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
# Where the training and evaluation commands look by default (relative to the repository root).
DEFAULT_CSV = "../shared/data/fer2013/fer2013-train-publictest.csv.gz"
CACHE_DIR = Path(os.environ.get("FER_CACHE_DIR", Path.home() / ".cache" / "fer_model"))

# A face cropper takes a grey uint8 image and returns the face region, or None if no face.
FaceCropper = Callable[[np.ndarray], np.ndarray | None]


@dataclass
class FaceDataset:
    """Faces as one uint8 array (N, 48, 48) plus int64 labels; `problems` lists skipped inputs."""

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray  # str per row ("Training", ...); "" for image folders
    class_names: tuple[str, ...] = CLASS_NAMES
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, usage: str) -> FaceDataset:
        keep = self.usage == usage
        return FaceDataset(self.images[keep], self.labels[keep], self.usage[keep], self.class_names)

    def head(self, n: int) -> FaceDataset:
        return FaceDataset(self.images[:n], self.labels[:n], self.usage[:n], self.class_names)


def _parse_pixels(text: str) -> np.ndarray | str:
    """Return the 2304 pixel values, or a string describing why the row is malformed."""
    with warnings.catch_warnings():
        # np.fromstring only warns (and truncates) on non-numeric tokens: make that an error.
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, dtype=np.int64, sep=" ")
        except (DeprecationWarning, ValueError):
            return "non-numeric pixel values"
    if values.size != N_PIXELS:
        return f"expected {N_PIXELS} pixels, got {values.size}"
    if values.min() < 0 or values.max() > 255:
        return "pixel values outside 0..255"
    return values.astype(np.uint8)


def parse_csv_lines(lines: Iterable[str]) -> FaceDataset:
    """Parse FER2013 CSV text lines (header first); malformed rows are reported, not fatal."""
    images, labels, usages, problems = [], [], [], []
    it = iter(lines)
    header = next(it, "").strip().lower().split(",")
    if header[:2] != ["emotion", "pixels"]:
        raise ValueError(f"not a FER2013 CSV header: {','.join(header)!r}")
    for lineno, line in enumerate(it, start=2):
        line = line.strip()
        if not line:
            continue
        parts = line.split(",")
        if len(parts) < 2:
            problems.append(f"line {lineno}: expected at least 2 columns")
            continue
        usage = parts[2].strip() if len(parts) > 2 else "Training"
        if usage not in USAGES:
            problems.append(f"line {lineno}: unknown Usage {usage!r}")
            continue
        label = parts[0].strip()
        if not label.isdigit() or int(label) >= len(CLASS_NAMES):
            problems.append(f"line {lineno}: bad emotion label {label!r}")
            continue
        pixels = _parse_pixels(parts[1])
        if isinstance(pixels, str):
            problems.append(f"line {lineno}: {pixels}")
            continue
        images.append(pixels)
        labels.append(int(label))
        usages.append(usage)
    arr = np.stack(images).reshape(-1, IMAGE_SIZE, IMAGE_SIZE) if images else _empty_images()
    return FaceDataset(
        arr, np.asarray(labels, np.int64), np.asarray(usages, dtype=str), CLASS_NAMES, problems
    )


def _empty_images() -> np.ndarray:
    return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


def _cache_key(path: Path) -> str:
    st = path.stat()
    return hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def load_csv(path: str | Path, cache: bool = True) -> FaceDataset:
    """Load a FER2013-layout CSV (plain or .gz), caching the parsed arrays as .npz."""
    path = Path(path)
    cache_file = CACHE_DIR / f"{path.name}.{_cache_key(path)}.npz"
    if cache and cache_file.exists():
        z = np.load(cache_file)
        ds = FaceDataset(z["images"], z["labels"], z["usage"], CLASS_NAMES, list(z["problems"]))
    else:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8", newline="") as fh:
            ds = parse_csv_lines(fh)
        if cache:
            _save_cache(cache_file, ds)
    _report(path, ds.problems)
    return ds


def _save_cache(cache_file: Path, ds: FaceDataset) -> None:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        images=ds.images,
        labels=ds.labels,
        usage=ds.usage,
        problems=np.asarray(ds.problems, dtype=str),
    )
    os.replace(tmp, cache_file)


def _report(source: Path, problems: list[str]) -> None:
    if not problems:
        return
    shown = "; ".join(problems[:10]) + (" ..." if len(problems) > 10 else "")
    log.warning("%s: %d malformed entries skipped: %s", source, len(problems), shown)


def to_face48(image: np.ndarray, face_cropper: FaceCropper | None = None) -> np.ndarray | None:
    """Any grey/BGR/BGRA uint8 image -> 48x48 grey uint8 (None if the cropper finds no face)."""
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code) if image.shape[2] > 1 else image[:, :, 0]
    if image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if face_cropper is not None:
        image = face_cropper(image)
        if image is None:
            return None
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        shrink = image.shape[0] > IMAGE_SIZE
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        image = cv2.resize(image, (IMAGE_SIZE, IMAGE_SIZE), interpolation=interp)
    return np.ascontiguousarray(image)


def load_image_folder(root: str | Path, face_cropper: FaceCropper | None = None) -> FaceDataset:
    """Load `<root>/<class name>/*.png|jpg|jpeg|tiff`; unreadable files are reported."""
    root = Path(root)
    images, labels, problems = [], [], []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if class_dir.name not in CLASS_NAMES:
            problems.append(f"{class_dir}: folder name is not a class ({', '.join(CLASS_NAMES)})")
            continue
        for file in sorted(class_dir.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            raw = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
            face = None if raw is None else to_face48(raw, face_cropper)
            if face is None:
                problems.append(
                    f"{file}: " + ("unreadable image" if raw is None else "no face found")
                )
                continue
            images.append(face)
            labels.append(CLASS_NAMES.index(class_dir.name))
    _report(root, problems)
    arr = np.stack(images) if images else _empty_images()
    usage = np.full(len(labels), "", dtype=str)
    return FaceDataset(arr, np.asarray(labels, np.int64), usage, CLASS_NAMES, problems)


def load_dataset(path: str | Path, face_cropper: FaceCropper | None = None) -> FaceDataset:
    """A CSV file (FER2013 layout) or an image folder, chosen by what the path is."""
    path = Path(path)
    if path.is_dir():
        return load_image_folder(path, face_cropper)
    if not path.exists():
        raise FileNotFoundError(path)
    return load_csv(path)
