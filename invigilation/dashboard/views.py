from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from invigilation.accounts.roles import is_exam_admin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.exams.selectors import exam_overview, visible_exam_or_404
from invigilation.proctoring.rules import RuleSettings
from invigilation.proctoring.selectors import flags_visible_to, live_grid


@login_required
def home(request: HttpRequest) -> HttpResponse:
    exams = exam_overview(user=request.user).order_by("-starts_at")
    context = {"exams": exams, "is_admin": is_exam_admin(request.user)}
    return render(request, "dashboard/home.html", context)


@login_required
def exam_detail(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    record_access(request=request, action=Action.VIEWED, what=What.LIVE_DASHBOARD, exam=exam)
    flags = flags_visible_to(user=request.user).filter(session__exam=exam)[:100]
    sessions = list(live_grid(exam=exam))
    for session in sessions:
        probabilities = session.last_expression or {}
        session.top_expression = max(probabilities, key=probabilities.get, default="")
    context = {
        "exam": exam,
        "sessions": sessions,
        "flags": flags,
        "stale_after": RuleSettings(**exam.rule_thresholds).stream_stopped_seconds,
    }
    return render(request, "dashboard/exam_detail.html", context)
