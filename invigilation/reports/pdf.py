"""The exam report as a PDF, to attach to a misconduct case."""

import io

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from invigilation import vision
from invigilation.exams.models import Exam
from invigilation.proctoring.models import Flag
from invigilation.reports.plots import timeline_png
from invigilation.reports.selectors import AttendanceRow, Summary, timeline

STYLES = getSampleStyleSheet()
GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
    ("FONTSIZE", (0, 0), (-1, -1), 8),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
])  # fmt: skip


def exam_pdf(*, exam: Exam, summary: Summary, rows: list[AttendanceRow]) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Invigilation report: {exam}",
        leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm, bottomMargin=1.5 * cm,
    )  # fmt: skip
    story = _front(exam, summary, rows)
    for row in rows:
        if not row.absent:
            story += _student(row)
    document.build(story)
    return buffer.getvalue()


def _front(exam: Exam, summary: Summary, rows: list[AttendanceRow]) -> list:
    when = f"{timezone.localtime(exam.starts_at):%a %d %b %Y, %H:%M}"
    attendance = [["Number", "Name", "Checked in", "Identity", "Flags", "Result"]] + [
        [r.session.student.student_number, Paragraph(r.session.student.full_name),
         "absent" if r.absent else f"{timezone.localtime(r.checked_in_at):%H:%M:%S}"
         + (" (late)" if r.late else ""),
         {True: "verified", False: "NOT verified", None: "-"}[r.verified]
         + (f" ({r.distance:.2f})" if r.distance is not None else ""),
         f"{r.flags} ({r.open_flags} open)", _result(r)]
        for r in rows
    ]  # fmt: skip
    counts = (
        f"{summary.expected} expected, {summary.checked_in} checked in, {summary.verified} "
        f"verified, {summary.flagged} flagged, {summary.clean} clean."
    )
    return [
        Paragraph(f"Invigilation report: {exam.title} ({exam.course})", STYLES["Title"]),
        Paragraph(f"{when}. Generated {timezone.localtime():%Y-%m-%d %H:%M}.", STYLES["Normal"]),
        Paragraph(
            "A flag is a reason for a person to look, not proof of misconduct. Each flag below "
            "shows its evidence and the review decisions taken on it.",
            STYLES["Italic"],
        ),  # fmt: skip
        Spacer(1, 0.4 * cm),
        Paragraph(counts, STYLES["Normal"]),
        Paragraph("Flags by type: " + _counts(summary.by_kind), STYLES["Normal"]),
        Spacer(1, 0.4 * cm),
        Table(attendance, repeatRows=1, style=GRID),
    ]


def _result(row: AttendanceRow) -> str:
    if row.absent:
        return "-"
    if row.clean:
        return "clean"
    return "to review" if row.open_flags else "confirmed"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "none"


def _student(row: AttendanceRow) -> list:
    student = row.session.student
    frames, flags = timeline(session=row.session)
    plot = Image(io.BytesIO(timeline_png(frames, flags, vision.THRESHOLD)), 18 * cm, 9.6 * cm)
    story = [
        Spacer(1, 0.6 * cm),
        Paragraph(f"{student.full_name} ({student.student_number})", STYLES["Heading2"]),
        plot,
    ]
    if flags:
        table = [["Snapshot", "Flag", "Review"]] + [_flag_row(f) for f in flags]
        widths = [4.5 * cm, 7 * cm, 6.5 * cm]
        story.append(Table(table, colWidths=widths, repeatRows=1, style=GRID))
    else:
        story.append(Paragraph("No flags.", STYLES["Normal"]))
    return story


def _flag_row(flag: Flag) -> list:
    snapshot = ""
    if flag.snapshot:
        with flag.snapshot.open("rb") as handle:
            snapshot = Image(io.BytesIO(handle.read()), 4 * cm, 3 * cm, kind="proportional")
    description = Paragraph(
        f"<b>{flag.get_kind_display()}</b> at {timezone.localtime(flag.raised_at):%H:%M:%S}, "
        f"{flag.get_severity_display().lower()} severity, confidence {flag.confidence:.2f}"
        f"<br/>{flag.message}"
    )
    reviews = "<br/>".join(
        f"{r.get_state_display()} by {r.reviewer or 'a deleted user'} "
        f"({timezone.localtime(r.reviewed_at):%Y-%m-%d %H:%M}): {r.note}"
        for r in flag.reviews.all()
    )
    return [snapshot, description, Paragraph(reviews or "not reviewed")]
