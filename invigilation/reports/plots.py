"""The per-student exam timeline, drawn server-side (PNG) for the report page and PDF."""

import io

import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from invigilation.proctoring.models import Flag, FrameRecord  # noqa: E402

NEGATIVE = ("angry", "fear", "surprise")
SEVERITY_COLOURS = {1: "#1f5fbf", 2: "#b86e00", 3: "#b3261e"}


def timeline_png(frames: list[FrameRecord], flags: list[Flag], threshold: float) -> bytes:
    """Faces in view, identity distance and negative-expression share over time, flags marked."""
    figure, (faces_ax, identity_ax, expression_ax) = plt.subplots(
        3, 1, figsize=(9, 4.8), sharex=True, gridspec_kw={"height_ratios": [1, 1.4, 1]}
    )
    times = [f.captured_at for f in frames]
    faces_ax.step(times, [f.face_count for f in frames], where="post", color="#17263c")
    faces_ax.set_ylabel("faces")
    faces_ax.set_ylim(-0.2, max([2, *[f.face_count for f in frames]]) + 0.2)
    checked = [(f.captured_at, f.identity_distance) for f in frames if f.identity_distance]
    if checked:
        identity_ax.plot(*zip(*checked, strict=True), ".", color="#17263c", markersize=3)
    identity_ax.axhline(threshold, color="#b3261e", linestyle="--", linewidth=1)
    identity_ax.set_ylabel("identity\ndistance")
    scored = [(f.captured_at, sum(f.expression.get(k, 0) for k in NEGATIVE))
              for f in frames if f.expression]  # fmt: skip
    if scored:
        expression_ax.plot(*zip(*scored, strict=True), color="#b86e00", linewidth=1)
    expression_ax.set_ylim(0, 1)
    expression_ax.set_ylabel("angry/fear/\nsurprise")
    for flag in flags:
        for ax in (faces_ax, identity_ax, expression_ax):
            ax.axvline(flag.raised_at, color=SEVERITY_COLOURS[flag.severity], alpha=0.6)
        faces_ax.annotate(flag.get_kind_display(), (flag.raised_at, 1), rotation=90,
                          xycoords=("data", "axes fraction"), va="top", fontsize=7)  # fmt: skip
    locator = mdates.AutoDateLocator()
    expression_ax.xaxis.set_major_locator(locator)
    expression_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if not frames:
        faces_ax.text(0.5, 0.5, "no frames analysed", transform=faces_ax.transAxes, ha="center")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()
