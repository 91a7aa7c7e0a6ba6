from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.core.downloads import content_disposition, write_csv
from invigilation.decisions.identity import PHOTO_THRESHOLD  # the web side: no face models
from invigilation.exams.models import Exam, ExamSession
from invigilation.exams.selectors import visible_exam_or_404
from invigilation.reports import selectors
from invigilation.reports.pdf import exam_pdf
from invigilation.reports.plots import timeline_png


def _exam_for(request: HttpRequest, exam_id: int) -> Exam:
    return visible_exam_or_404(user=request.user, exam_id=exam_id)


@login_required
def exam_report(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.VIEWED, what=What.EXAM_REPORT, exam=exam)
    report = selectors.exam_report(exam=exam)
    context = {"exam": exam, "report": report, "timelines": report.timelines()}
    return render(request, "reports/exam_report.html", context)


@login_required
def student_timeline(request: HttpRequest, exam_id: int, session_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    session = get_object_or_404(
        ExamSession.objects.select_related("student"), pk=session_id, exam=exam
    )
    record_access(request=request, action=Action.VIEWED, what=What.TIMELINE, exam=exam,
                  student=session.student)  # fmt: skip
    png = timeline_png(*selectors.timeline(session=session), threshold=PHOTO_THRESHOLD)
    return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "private"})


@login_required
def flags_csv(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.EXPORTED, what=What.FLAGS_CSV, exam=exam)
    header = ["flag_id", "student_number", "student_name", "kind", "severity", "confidence",
              "raised_at", "message", "review_state", "reviewed_by", "reviewed_at",
              "review_note"]  # fmt: skip
    rows = [
        [f.pk, f.student.student_number if f.student else "",
         f.student.full_name if f.student else "(the room)", f.kind,
         f.get_severity_display(), f.confidence, f.raised_at.isoformat(), f.message,
         f.review_state, f.reviewed_by.username if f.reviewed_by else "",
         f.reviewed_at.isoformat() if f.reviewed_at else "", f.review_note]
        for f in selectors.exam_flags(exam=exam)
    ]  # fmt: skip
    return _csv(f"{exam.course}-{exam.pk}-flags.csv", header, rows)


@login_required
def attendance_csv(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.EXPORTED, what=What.ATTENDANCE_CSV, exam=exam)
    header = ["student_number", "student_name", "checked_in_at", "late", "verified",
              "identity", "verification_distance", "flags", "open_flags", "outcome",
              "check_in_source", "seat", "cameras_first_seen", "cameras_last_seen"]  # fmt: skip
    rows = [
        [r.session.student.student_number, r.session.student.full_name,
         r.checked_in_at.isoformat() if r.checked_in_at else "", r.late,
         "" if r.verified is None else r.verified, r.identity,
         "" if r.distance is None else r.distance,
         r.flags, r.open_flags, r.outcome, r.check_in_source, r.seat,
         r.seen_from.isoformat() if r.seen_from else "",
         r.seen_until.isoformat() if r.seen_until else ""]
        for r in selectors.attendance_rows(exam=exam)
    ]  # fmt: skip
    return _csv(f"{exam.course}-{exam.pk}-attendance.csv", header, rows)


def _csv(filename: str, header: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition(filename)
    write_csv(response, header, rows)
    return response


@login_required
def review_queue(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Open flags, most severe and most certain first, for review from the keyboard."""
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.VIEWED, what=What.REVIEW_QUEUE, exam=exam)
    context = {"exam": exam, "entries": selectors.review_queue(exam=exam)}
    return render(request, "reports/review_queue.html", context)


@login_required
def report_pdf(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = _exam_for(request, exam_id)
    record_access(request=request, action=Action.EXPORTED, what=What.REPORT_PDF, exam=exam)
    pdf = exam_pdf(exam=exam, report=selectors.exam_report(exam=exam))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(f"{exam.course}-{exam.pk}-report.pdf")
    return response
