from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseNotFound,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import http_date

from invigilation.accounts.roles import is_exam_admin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.dashboard import risk, room
from invigilation.dashboard.selectors import (
    alert_feed,
    exam_flags,
    exam_session_or_404,
    student_cards,
)
from invigilation.decisions.rules import RuleSettings
from invigilation.exams.selectors import exam_overview, visible_exam_or_404
from invigilation.proctoring import frames
from invigilation.proctoring.models import CheckInAttempt
from invigilation.proctoring.services import forget_anchor, push_reference
from invigilation.students.selectors import unconfirmed_reference
from invigilation.students.services import ReferenceRefused, confirm_reference, reject_reference


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


@login_required
def reference_decision(request: HttpRequest, exam_id: int, session_id: int) -> JsonResponse:
    """A student's reference photo taken at check-in (self-enrolment): GET says whether one
    awaits approval; POST approves or rejects it: `decision` confirm or reject, with a `note`
    (required to reject). Invigilators of the exam and exam admins only; every decision is in
    the audit log."""
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    session = exam_session_or_404(exam=exam, session_id=session_id)
    if request.method == "GET":
        waiting = unconfirmed_reference(student_id=session.student_id)
        photo = (
            {"id": waiting.pk, "url": reverse("students:photo", args=[waiting.pk])}
            if waiting
            else None
        )
        return JsonResponse({"session": session.pk, "awaiting_approval": photo})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "").strip()
    if decision not in ("confirm", "reject"):
        return JsonResponse({"detail": "The decision is confirm or reject."}, status=400)
    with transaction.atomic():
        photo = unconfirmed_reference(student_id=session.student_id)
        if photo is None:
            return JsonResponse(
                {"detail": "This student has no reference photo awaiting approval."}, status=409
            )
        detail = f"reference photo {photo.pk} from check-in {decision}ed" + (
            f": {note}" if note else ""
        )
        try:
            if decision == "confirm":
                confirm_reference(photo=photo, user=request.user)
                action = Action.VIEWED
            else:
                reject_reference(photo=photo, user=request.user, note=note)
                forget_anchor(session=session)
                action = Action.ERASED
        except ReferenceRefused as exc:
            return JsonResponse({"detail": str(exc)}, status=400)
        # The audit log has no "confirmed" action: the decision is in the detail.
        record_access(request=request, action=action, what=What.ENROLMENT_PHOTO, exam=exam,
                      student=session.student, detail=detail)  # fmt: skip
        photo_url = reverse("students:photo", args=[photo.pk]) if decision == "confirm" else None
        transaction.on_commit(
            lambda: push_reference(session=session, photo_url=photo_url, unconfirmed=False)
        )
    return JsonResponse(
        {"session": session.pk, "decision": decision, "photo": photo.pk if decision == "confirm"
         else None, "confirmed": decision == "confirm"}
    )  # fmt: skip


@login_required
def check_in_snapshot(request: HttpRequest, exam_id: int, attempt_id: int) -> FileResponse:
    """The frame a check-in attempt kept, for the staff who may see the exam (audited)."""
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    attempt = get_object_or_404(
        CheckInAttempt.objects.select_related("session__student"), pk=attempt_id,
        session__exam=exam,
    )  # fmt: skip
    if not attempt.snapshot:
        raise Http404("This check-in kept no snapshot.")
    record_access(request=request, action=Action.VIEWED, what=What.FLAG_SNAPSHOT, exam=exam,
                  student=attempt.session.student,
                  detail=f"check-in {attempt.pk} snapshot")  # fmt: skip
    response = FileResponse(attempt.snapshot.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def room_page(request: HttpRequest, exam_id: int) -> HttpResponse:
    """An exam held in a room: its cameras, the roster by kiosk and cameras, the seat plan and
    the room's alerts (dashboard/room.py). The frames load only on a button press."""
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    record_access(request=request, action=Action.VIEWED, what=What.LIVE_DASHBOARD, exam=exam,
                  detail="room page")  # fmt: skip
    entries = room.roster(exam=exam)
    cameras = room.camera_views(exam=exam)
    context = {
        "exam": exam,
        "cameras": cameras,
        "entries": entries,
        "counts": room.counts(entries=entries, cameras=cameras),
        "seat_rows": room.seat_grid(exam=exam, entries=entries),
        "alerts": [
            (f, room.picture_url(f)) for f in room.room_alerts(user=request.user, exam=exam)
        ],
        "not_seen_minutes": room.NOT_SEEN_MINUTES,
    }
    return render(request, "dashboard/room.html", context)


@login_required
def room_json(request: HttpRequest, exam_id: int) -> JsonResponse:
    """The room page's refresh: counts, roster, cameras' readings and alerts. Not logged again:
    the page's view is (every 10 s would bury the audit trail)."""
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    response = JsonResponse(room.room_state(user=request.user, exam=exam))
    response["Cache-Control"] = "private, no-store"
    return response
