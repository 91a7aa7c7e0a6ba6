"""The exam report as a PDF, to attach to a misconduct case.

Paragraphs are reportlab markup: every name, message and note is escaped, or a review note
with "<" or "&" would break the export."""

import io
from xml.sax.saxutils import escape

from django.db.models.fields.files import FieldFile
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from invigilation.core.clock import format_datetime, format_time
from invigilation.decisions.identity import PHOTO_THRESHOLD  # the web side: no face models
from invigilation.exams.models import Exam
from invigilation.reports.plots import timeline_png
from invigilation.reports.selectors import (
    AttendanceRow,
    ExamReport,
    ReportFlag,
    session_frames,
)

STYLES = getSampleStyleSheet()
GRID = TableStyle([
    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
    ("FONTSIZE", (0, 0), (-1, -1), 8),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
])  # fmt: skip
SIDE_BY_SIDE = TableStyle([
    ("FONTSIZE", (0, 0), (-1, -1), 7),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
    ("ALIGN", (0, 0), (-1, -1), "CENTER"),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
])  # fmt: skip
EVIDENCE_WIDTH = 7.6 * cm
PICTURE = (3.4 * cm, 2.55 * cm)


def exam_pdf(*, exam: Exam, report: ExamReport) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Invigilation report: {exam}",
        leftMargin=1.5 * cm, rightMargin=1.5 * cm, topMargin=1.5 * cm, bottomMargin=1.5 * cm,
    )  # fmt: skip
    story = _front(exam, report)
    for row, flags in report.timelines():
        story += _student(row, flags)
    document.build(story)
    return buffer.getvalue()


def _front(exam: Exam, report: ExamReport) -> list:
    summary = report.summary
    attendance = [["Number", "Name", "Checked in", "Identity", "Flags", "Outcome"]] + [
        [r.session.student.student_number, Paragraph(escape(r.session.student.full_name)),
         _checked_in(r),
         r.identity + (f" ({r.distance:.2f})" if r.distance is not None else ""),
         f"{r.flags} ({r.open_flags} open)", str(r.outcome)]
        for r in report.rows
    ]  # fmt: skip
    counts = (
        f"{summary.expected} expected, {summary.checked_in} checked in, {summary.verified} "
        f"verified. Outcomes: {summary.to_review} to review, {summary.flagged} flagged, "
        f"{summary.clean} clean, {summary.absent} absent."
    )
    return [
        Paragraph(escape(f"Invigilation report: {exam.title} ({exam.course})"), STYLES["Title"]),
        Paragraph(
            f"{format_datetime(exam.starts_at)}. Generated {format_datetime(timezone.now())}.",
            STYLES["Normal"],
        ),
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
        *_check_ins(report),
    ]


def _check_ins(report: ExamReport) -> list:
    """Every check-in attempt: a liveness failure or a retry is evidence too."""
    if not report.check_ins:
        return []
    rows = [["Number", "Time", "Outcome", "Distance", "What the student was told"]] + [
        [entry.row.session.student.student_number, format_time(attempt.attempted_at),
         attempt.get_outcome_display(),
         f"{attempt.distance:.2f}" if attempt.distance is not None else "",
         Paragraph(escape(attempt.message))]
        for entry in report.check_ins
        for attempt in entry.attempts
    ]  # fmt: skip
    widths = [2.2 * cm, 1.8 * cm, 2.8 * cm, 1.8 * cm, 9.4 * cm]
    return [
        Spacer(1, 0.4 * cm),
        Paragraph("Identity checks at check-in", STYLES["Heading2"]),
        Table(rows, colWidths=widths, repeatRows=1, style=GRID),
    ]


def _checked_in(row: AttendanceRow) -> Paragraph:
    if row.checked_in_at is None:
        text = "absent" if row.absent else "not checked in"
    else:
        text = format_time(row.checked_in_at) + (" (late)" if row.late else "")
    return Paragraph(escape("; ".join(filter(None, [text, row.room_text]))))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "none"


def _student(row: AttendanceRow, entries: list[ReportFlag]) -> list:
    student = row.session.student
    flags = [entry.flag for entry in entries]
    png = timeline_png(session_frames(session=row.session), flags, PHOTO_THRESHOLD)
    heading = escape(f"{student.full_name} ({student.student_number}): {row.outcome}")
    story = [
        Spacer(1, 0.6 * cm),
        KeepTogether(
            [Paragraph(heading, STYLES["Heading2"]), Image(io.BytesIO(png), 18 * cm, 9.6 * cm)]
        ),
    ]
    if entries:
        table = [["Evidence", "Flag", "Review"]] + [_flag_row(entry) for entry in entries]
        widths = [EVIDENCE_WIDTH, 5.8 * cm, 4.6 * cm]
        story.append(Table(table, colWidths=widths, repeatRows=1, style=GRID))
    else:
        story.append(Paragraph("No flags.", STYLES["Normal"]))
    return story


def _flag_row(entry: ReportFlag) -> list:
    flag = entry.flag
    # "(flag N)" ties each row to the flag in the CSV and the API.
    description = (
        f"<b>{flag.get_kind_display()}</b> (flag {flag.pk}) at {format_time(flag.raised_at)}, "
        f"{flag.get_severity_display().lower()} severity, confidence {flag.confidence:.2f}"
        f"<br/>{escape(flag.message)}"
    )
    if entry.identity:
        description += f"<br/><b>{escape(entry.identity.text)}</b>"
    reviews = "<br/>".join(
        escape(
            f"{r.get_state_display()} by {r.reviewer or 'a deleted user'} "
            f"({format_datetime(r.reviewed_at)}): {r.note}"
        )
        for r in flag.reviews.all()
    )
    return [_evidence(entry), Paragraph(description), Paragraph(reviews or "not reviewed")]


def _evidence(entry: ReportFlag) -> Table | Image | str:
    snapshot = _picture(entry.flag.snapshot) if entry.flag.snapshot else "no snapshot"
    if not entry.identity:
        return snapshot
    photo = entry.identity.photo
    reference = _picture(photo.image) if photo else Paragraph("no reference photo")
    pictures = [[snapshot, reference], ["snapshot", "enrolment photo"]]
    # Half of the cell each, inside the grid's padding (6 points a side).
    half = (EVIDENCE_WIDTH - 12) / 2
    return Table(pictures, colWidths=[half, half], style=SIDE_BY_SIDE)


def _picture(field: FieldFile) -> Image:
    with field.open("rb") as handle:
        return Image(io.BytesIO(handle.read()), *PICTURE, kind="proportional")
