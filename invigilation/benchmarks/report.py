"""Percentiles and Markdown tables for the benchmark results."""

from collections.abc import Iterable, Sequence

import numpy as np


def percentiles(values: Iterable[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {f"p{p}": float("nan") for p in points}
    return {f"p{p}": round(float(np.percentile(data, p)), 2) for p in points}


def table(rows: list[dict], columns: Sequence[tuple[str, str]]) -> str:
    """A Markdown table of `rows`, with (key, heading) columns."""
    head = "| " + " | ".join(h for _, h in columns) + " |\n"
    head += "|" + "---|" * len(columns) + "\n"
    body = "".join("| " + " | ".join(_cell(r.get(k)) for k, _ in columns) + " |\n" for r in rows)
    return head + body


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:g}"
    return "n/a" if value is None else str(value)
