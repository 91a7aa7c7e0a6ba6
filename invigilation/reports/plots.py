"""The per-student exam timeline, drawn server-side (PNG) for the report page and PDF."""

import io
from datetime import timedelta

import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from django.utils import timezone  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from invigilation.core.clock import format_time  # noqa: E402
from invigilation.decisions.rules import negative_score  # noqa: E402
from invigilation.proctoring.models import Flag, FrameRecord  # noqa: E402

SEVERITY_COLOURS = {1: "#1f5fbf", 2: "#b86e00", 3: "#b3261e"}
FLAG_MARGIN = timedelta(minutes=1)


def timeline_png(frames: list[FrameRecord], flags: list[Flag], threshold: float) -> bytes:
    figure = timeline_figure(frames, flags, threshold)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def timeline_figure(frames: list[FrameRecord], flags: list[Flag], threshold: float) -> Figure:
    """Faces in view, identity distance and negative-expression share over time, flags marked."""
    figure, (faces_ax, identity_ax, expression_ax) = plt.subplots(
        3, 1, figsize=(9, 4.8), sharex=True, gridspec_kw={"height_ratios": [1, 1.4, 1]}
    )
    _faces(faces_ax, frames)
    _identity(identity_ax, frames, threshold)
    _expression(expression_ax, frames)
    for flag in flags:
        for ax in (faces_ax, identity_ax, expression_ax):
            ax.axvline(flag.raised_at, color=SEVERITY_COLOURS[flag.severity], alpha=0.6)
        faces_ax.annotate(flag.get_kind_display(), (flag.raised_at, 1), rotation=90,
                          xycoords=("data", "axes fraction"), va="top", fontsize=7)  # fmt: skip
    _time_axis(expression_ax)
    if not frames:
        faces_ax.text(0.5, 0.5, "no frames analysed", transform=faces_ax.transAxes, ha="center")
        if flags:  # else matplotlib spans years around flags that all fall in one minute
            times = [flag.raised_at for flag in flags]
            expression_ax.set_xlim(min(times) - FLAG_MARGIN, max(times) + FLAG_MARGIN)
    figure.tight_layout()
    return figure


def _faces(ax: Axes, frames: list[FrameRecord]) -> None:
    counts = [f.face_count for f in frames]
    ax.step([f.captured_at for f in frames], counts, where="post", color="#17263c")
    ax.set_ylabel("faces")
    ax.set_ylim(-0.2, max([2, *counts]) + 0.2)


def _identity(ax: Axes, frames: list[FrameRecord], threshold: float) -> None:
    checked = [(f.captured_at, f.identity_distance) for f in frames if f.identity_distance]
    if checked:
        ax.plot(*zip(*checked, strict=True), ".", color="#17263c", markersize=3)
    ax.axhline(threshold, color="#b3261e", linestyle="--", linewidth=1)
    ax.set_ylabel("identity\ndistance")


def _expression(ax: Axes, frames: list[FrameRecord]) -> None:
    scored = [(f.captured_at, negative_score(f.expression)) for f in frames if f.expression]
    if scored:
        ax.plot(*zip(*scored, strict=True), color="#b86e00", linewidth=1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("angry/fear/\nsurprise")


def _time_axis(ax: Axes) -> None:
    # Ticks in the site's time zone, written like every other time in the report.
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(tz=timezone.get_current_timezone()))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_time(mdates.num2date(x))))
