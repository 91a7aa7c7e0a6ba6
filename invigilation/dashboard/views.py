from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import render
from django.utils.http import http_date

from invigilation.accounts.roles import is_exam_admin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.dashboard import risk
from invigilation.dashboard.selectors import (
    alert_feed,
    exam_flags,
    exam_session_or_404,
    student_cards,
)
from invigilation.exams.selectors import exam_overview, visible_exam_or_404
from invigilation.proctoring import frames
from invigilation.proctoring.rules import RuleSettings


@login_required
def home(request: HttpRequest) -> HttpResponse:
    exams = exam_overview(user=request.user).order_by("-starts_at")
    context = {"exams": exams, "is_admin": is_exam_admin(request.user)}
    return render(request, "dashboard/home.html", context)


@login_required
def exam_detail(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    record_access(request=request, action=Action.VIEWED, what=What.LIVE_DASHBOARD, exam=exam)
    stale_after = RuleSettings(**exam.rule_thresholds).stream_stopped_seconds
    flags = exam_flags(user=request.user, exam=exam)
    context = {
        "exam": exam,
        "cards": student_cards(exam=exam, flags=flags, stale_after=stale_after),
        "alerts": alert_feed(flags=flags),
        "stale_after": stale_after,
        "risk_weights": risk.weights(),
    }
    return render(request, "dashboard/exam_detail.html", context)


@login_required
def latest_frame(request: HttpRequest, exam_id: int, session_id: int) -> HttpResponse:
    """ "Look now": the student's frame waiting in Redis, never stored, so never cached."""
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    session = exam_session_or_404(exam=exam, session_id=session_id)
    frame = frames.peek_latest(session)
    if frame is None:
        return HttpResponseNotFound(
            "No frame from this student is waiting right now: frames are kept only until "
            f"analysed, at most {settings.FRAME_TTL_SECONDS} s. Is the student streaming?",
            content_type="text/plain; charset=utf-8",
        )
    record_access(request=request, action=Action.VIEWED, what=What.LATEST_FRAME, exam=exam,
                  student=session.student)  # fmt: skip
    response = HttpResponse(frame.jpeg, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["Last-Modified"] = http_date(frame.received_at)
    return response
