"""Face embeddings as stored: float32 vectors of 128 values, concatenated. The one codec, for the
workers that write them (photo checks, check-in anchors) and every reader (the identity checks,
the personal-data export). numpy only: no face model is loaded by using it."""

import numpy as np

SIZE = 128  # the dlib ResNet embedding's length


def to_bytes(embeddings: np.ndarray) -> bytes:
    """One embedding, or several as rows, as stored."""
    return np.asarray(embeddings, np.float32).reshape(-1, SIZE).tobytes()


def from_bytes(raw: bytes | memoryview) -> np.ndarray:
    """Stored embeddings back as an (n, 128) float32 array; ValueError if `raw` is not that."""
    raw = bytes(raw)
    if not raw or len(raw) % (SIZE * 4):
        raise ValueError(f"stored embeddings are whole float32 vectors of {SIZE} values")
    return np.frombuffer(raw, np.float32).reshape(-1, SIZE)
