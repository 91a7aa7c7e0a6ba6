from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import http_date

from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.exams.selectors import visible_exam_or_404
from invigilation.rooms import drawing, frames
from invigilation.rooms.ingest import max_side
from invigilation.rooms.selectors import camera_for_token, cameras_of


def camera_page(request: HttpRequest, token: str) -> HttpResponse:
    """The page a laptop pointed at the room opens: camera preview, frames sent at the
    camera's rate. An unknown, inactive or ended camera gets a page that says so."""
    camera = camera_for_token(token)
    if camera is None or not camera.active:
        context = {"inactive": camera is not None}
        response = render(request, "rooms/camera_invalid.html", context, status=404)
    else:
        context = {"camera": camera, "token": token, "max_side": min(max_side(), 3840)}
        response = render(request, "rooms/camera.html", context)
    # The token is in the URL: never leak it to another site through the Referer header.
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
def room_view(
    request: HttpRequest, exam_id: int, camera_id: int, readings_only: bool = False
) -> HttpResponse:
    """The camera's latest analysed frame with every face boxed and named, drawn now from the
    frame and readings kept in Redis (never stored); `readings_only`: what was read, as JSON
    (each face's box, student number and name, distance, state)."""
    exam = visible_exam_or_404(user=request.user, exam_id=exam_id)
    camera = cameras_of(exam=exam).filter(pk=camera_id).first()
    if camera is None:
        raise Http404("No such camera in this exam.")
    latest = frames.latest_view(camera)
    if latest is None:
        return HttpResponse(
            f"No frame from this camera was analysed in the last {frames.view_ttl()} s. Is "
            "its page open (or stream_camera running)?",
            status=404, content_type="text/plain; charset=utf-8",
        )  # fmt: skip
    jpeg, readings = latest
    record_access(request=request, action=Action.VIEWED, what=What.LATEST_FRAME, exam=exam,
                  detail=f"room camera {camera.pk} {camera.name}")  # fmt: skip
    if readings_only:
        response = JsonResponse(readings)
    else:
        response = HttpResponse(drawing.boxed_frame(jpeg, readings["faces"]),
                                content_type="image/jpeg")  # fmt: skip
    response["Cache-Control"] = "private, no-store"
    response["Last-Modified"] = http_date(readings["at"])
    return response
