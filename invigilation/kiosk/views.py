from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from invigilation.kiosk.access import kiosk_exam
from invigilation.kiosk.selectors import counts


@login_required
@ensure_csrf_cookie  # the page's API calls send it back (session log-in)
def kiosk_page(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The entrance kiosk: camera, a burst per candidate, the verdict shown big, and the
    keys (Enter confirm, Esc reject, type a number to override). Invigilators only."""
    exam = kiosk_exam(user=request.user, exam_id=exam_id)
    context = {
        "exam": exam,
        "counts": counts(exam),
        "burst_seconds": settings.CHECK_IN_BURST_SECONDS,
        "burst_fps": settings.CHECK_IN_BURST_FPS,
        "burst_min_frames": settings.CHECK_IN_BURST_MIN_FRAMES,
    }
    return render(request, "kiosk/kiosk.html", context)
