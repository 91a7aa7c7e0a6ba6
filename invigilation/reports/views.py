import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from invigilation import vision
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.exams.models import Exam, ExamSession
from invigilation.exams.selectors import visible_exam_or_404
from invigilation.proctoring.models import Flag
from invigilation.reports.pdf import exam_pdf
from invigilation.reports.plots import timeline_png
from invigilation.reports.selectors import attendance_rows, exam_summary, timeline


def _exam_for(request: HttpRequest, exam_id: int) -> Exam:
    return visible_exam_or_404(user=request.user, exam_id=exam_id)


@login_required
def exam_report(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.VIEWED, what=What.EXAM_REPORT, exam=exam)
    rows = attendance_rows(exam=exam)
    flags = Flag.objects.filter(session__exam=exam).select_related("session__student")
    by_session = _group(flags.order_by("raised_at"))
    context = {
        "exam": exam,
        "rows": rows,
        "summary": exam_summary(exam=exam, rows=rows),
        "timelines": [(row, by_session.get(row.session.pk, [])) for row in rows if not row.absent],
    }
    return render(request, "reports/exam_report.html", context)


def _group(flags) -> dict[int, list[Flag]]:
    grouped: dict[int, list[Flag]] = {}
    for flag in flags:
        grouped.setdefault(flag.session_id, []).append(flag)
    return grouped


@login_required
def student_timeline(request: HttpRequest, exam_id: int, session_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    session = get_object_or_404(
        ExamSession.objects.select_related("student"), pk=session_id, exam=exam
    )
    record_access(request=request, action=Action.VIEWED, what=What.TIMELINE, exam=exam,
                  student=session.student)  # fmt: skip
    png = timeline_png(*timeline(session=session), threshold=vision.THRESHOLD)
    return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "private"})


@login_required
def flags_csv(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.EXPORTED, what=What.FLAGS_CSV, exam=exam)
    flags = Flag.objects.filter(session__exam=exam).select_related(
        "session__student", "reviewed_by"
    )
    header = ["flag_id", "student_number", "student_name", "kind", "severity", "confidence",
              "raised_at", "message", "review_state", "reviewed_by", "reviewed_at",
              "review_note"]  # fmt: skip
    rows = [
        [f.pk, f.session.student.student_number, f.session.student.full_name, f.kind,
         f.get_severity_display(), f.confidence, f.raised_at.isoformat(), f.message,
         f.review_state, f.reviewed_by.username if f.reviewed_by else "",
         f.reviewed_at.isoformat() if f.reviewed_at else "", f.review_note]
        for f in flags.order_by("raised_at")
    ]  # fmt: skip
    return _csv(f"{exam.course}-{exam.pk}-flags.csv", header, rows)


@login_required
def attendance_csv(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.EXPORTED, what=What.ATTENDANCE_CSV, exam=exam)
    header = ["student_number", "student_name", "status", "checked_in_at", "late", "verified",
              "verification_distance", "flags", "open_flags", "clean"]  # fmt: skip
    rows = [
        [r.session.student.student_number, r.session.student.full_name,
         "absent" if r.absent else "present",
         r.checked_in_at.isoformat() if r.checked_in_at else "", r.late,
         "" if r.verified is None else r.verified, "" if r.distance is None else r.distance,
         r.flags, r.open_flags, r.clean]
        for r in attendance_rows(exam=exam)
    ]  # fmt: skip
    return _csv(f"{exam.course}-{exam.pk}-attendance.csv", header, rows)


def _csv(filename: str, header: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # Excel reads UTF-8 only with a BOM
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
def review_queue(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Open flags, most severe and most certain first, for review from the keyboard."""
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.VIEWED, what=What.REVIEW_QUEUE, exam=exam)
    flags = list(
        Flag.objects.filter(session__exam=exam, review_state=Flag.Review.OPEN)
        .select_related("session__student")
        .order_by("-severity", "-confidence", "raised_at")
    )
    for flag in flags:
        flag.evidence_text = ", ".join(f"{k} {v}" for k, v in flag.evidence.items() if k != "frame")
    return render(request, "reports/review_queue.html", {"exam": exam, "flags": flags})


@login_required
def report_pdf(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.EXPORTED, what=What.REPORT_PDF, exam=exam)
    rows = attendance_rows(exam=exam)
    pdf = exam_pdf(exam=exam, summary=exam_summary(exam=exam, rows=rows), rows=rows)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{exam.course}-{exam.pk}-report.pdf"'
    return response
