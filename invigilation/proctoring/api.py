import json
import math

import django_filters
from django.conf import settings
from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from invigilation.accounts.permissions import CanReviewFlags, IsStaffReadOnlyOrAdmin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.core.api import DateTimeFilter, IdFilter
from invigilation.exams.authentication import ExamSessionTokenAuthentication
from invigilation.exams.permissions import IsExamSessionHolder
from invigilation.exams.selectors import exams_visible_to
from invigilation.proctoring import bursts
from invigilation.proctoring.ingest import (
    FrameRefused,
    accept_check_in,
    accept_frame,
    accept_system_check,
    check_session_open,
    finish,
)
from invigilation.proctoring.models import Flag
from invigilation.proctoring.selectors import flags_visible_to
from invigilation.proctoring.serializers import FlagReviewInputSerializer, FlagSerializer
from invigilation.proctoring.services import ReviewRefused, review_flag
from invigilation.proctoring.throttles import CheckInThrottle, SystemCheckThrottle


class FlagFilter(django_filters.FilterSet):
    exam = IdFilter()
    session = IdFilter()
    # A dashboard reconnecting asks for everything after the last flag it has seen.
    raised_after = DateTimeFilter(field_name="raised_at", lookup_expr="gt")
    after_id = IdFilter(field_name="id", lookup_expr="gt")
    severity_min = django_filters.NumberFilter(field_name="severity", lookup_expr="gte")

    class Meta:
        model = Flag
        fields = ["kind", "severity", "review_state"]


class FlagViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = FlagSerializer
    permission_classes = [IsStaffReadOnlyOrAdmin]
    filterset_class = FlagFilter
    ordering_fields = ["raised_at", "severity", "confidence"]

    def get_queryset(self):
        return flags_visible_to(user=self.request.user).prefetch_related("reviews__reviewer")

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        exam = exams_visible_to(user=request.user).filter(pk=self._exam_filter()).first()
        record_access(request=request, action=Action.VIEWED, what=What.FLAGS_API, exam=exam,
                      detail=request.GET.urlencode())  # fmt: skip
        return response

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        flag = self.get_object()
        record_access(request=request, action=Action.VIEWED, what=What.FLAGS_API,
                      exam=flag.exam, student=flag.student, detail=f"flag {flag.pk}")  # fmt: skip
        return Response(self.get_serializer(flag).data)

    def _exam_filter(self) -> int | None:
        value = self.request.query_params.get("exam", "")
        # A bad or out-of-range id is left to the filter to answer; the log just names no exam.
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

    @extend_schema(request=FlagReviewInputSerializer, responses=FlagSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CanReviewFlags])
    def review(self, request: Request, pk: str, format: str | None = None) -> Response:
        """Confirm, dismiss or escalate the flag, with a note (kept in its audit trail)."""
        flag = self.get_object()
        form = FlagReviewInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            review_flag(flag=flag, reviewer=request.user, **form.validated_data)
        except ReviewRefused as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(FlagSerializer(self.get_object()).data)

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def snapshot(self, request: Request, pk: str, format: str | None = None) -> FileResponse:
        """The evidence frame, with the faces boxed (a room camera's flag: the face's crop)."""
        return self._picture(request, "snapshot")

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def thumbnail(self, request: Request, pk: str, format: str | None = None) -> FileResponse:
        """A room camera's flag: the whole frame, every face boxed."""
        return self._picture(request, "thumbnail")

    def _picture(self, request: Request, field: str) -> FileResponse:
        flag = self.get_object()
        picture = getattr(flag, field)
        if not picture:
            raise Http404(f"This flag has no {field}.")
        detail = f"flag {flag.pk}" if field == "snapshot" else f"flag {flag.pk} {field}"
        record_access(request=request, action=Action.VIEWED, what=What.FLAG_SNAPSHOT,
                      exam=flag.exam, student=flag.student, detail=detail)  # fmt: skip
        response = FileResponse(picture.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response


class FrameAcceptedSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    queued = serializers.BooleanField(help_text="False: it replaced a frame already waiting.")


class JPEGParser(BaseParser):
    media_type = "image/jpeg"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        # Read one byte past the limit: enough to refuse an oversized body without reading it all.
        return stream.read(settings.FRAME_MAX_BYTES + 1) if stream else b""


class StudentJPEGView(APIView):
    """A JPEG from the student's camera as the request body, under their session token."""

    authentication_classes = [ExamSessionTokenAuthentication]
    permission_classes = [IsExamSessionHolder]
    parser_classes = [JPEGParser]
    error_statuses = (409, 413, 415, 422, 429)  # FrameRefused, documented in the schema

    def handle_exception(self, exc: Exception) -> Response:
        if not isinstance(exc, FrameRefused):
            return super().handle_exception(exc)
        # Retry-After is whole seconds (RFC 9110): a half-second wait is written 1.
        headers = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after else {}
        return Response({"detail": exc.message}, status=exc.status, headers=headers)


class FrameIngestView(StudentJPEGView):
    """A webcam frame from the capture page, queued for analysis."""

    @extend_schema(
        request={"image/jpeg": {"type": "string", "format": "binary"}},
        responses={202: FrameAcceptedSerializer},
    )
    def post(self, request: Request) -> Response:
        queued = accept_frame(session=request.auth, jpeg=request.data)
        return Response({"accepted": True, "queued": queued}, status=202)


class PollAcceptedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"pending": poll the `poll` URL for the result.')
    poll = serializers.CharField(help_text="Where to ask for the result (same token).")


class CheckInAcceptedSerializer(PollAcceptedSerializer):
    check_in = serializers.CharField(help_text="The burst's id.")


class CheckInBurstSerializer(serializers.Serializer):
    frames = serializers.ListField(
        child=serializers.FileField(),
        help_text="The burst: CHECK_IN_BURST_MIN_FRAMES to CHECK_IN_BURST_MAX_FRAMES JPEGs.",
    )
    captured_at = serializers.CharField(
        required=False, help_text="JSON list of each frame's capture time, ms from the first."
    )


class CheckInVerdictSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"pending", or "done" with the result.')
    outcome = serializers.CharField(
        required=False,
        help_text="verified, not_verified, liveness_failed, no_reference, unusable, or error "
        "(the check could not be completed).",
    )
    verified = serializers.BooleanField(required=False, allow_null=True)
    message = serializers.CharField(required=False, help_text="What to tell the student.")
    retry = serializers.BooleanField(required=False, help_text="The student should try again.")
    attempts_left = serializers.IntegerField(required=False, allow_null=True)


class PollView(APIView):
    """A job's result for the page: pending, or done with the result (kept a few minutes)."""

    authentication_classes = [ExamSessionTokenAuthentication]
    permission_classes = [IsExamSessionHolder]
    kind = ""

    def get(self, request: Request, check_id: str) -> Response:
        found = bursts.result(request.auth, self.kind, check_id)
        if found is None:
            minutes = max(1, settings.CHECK_IN_RESULT_TTL_SECONDS // 60)
            detail = (f"No such {self.kind}: it is unknown, another session's, or has expired "
                      f"(results are kept {minutes} minutes).")  # fmt: skip
            return Response({"detail": detail}, status=404)
        return Response(found)


def _captured_at(raw: str | None) -> list[float] | None:
    if raw is None or raw == "":
        return None
    refused = FrameRefused(
        400, "`captured_at` must be a JSON list of numbers: each frame's time in ms."
    )
    if len(raw) > 10_000:
        raise refused
    try:
        values = json.loads(raw)
    except ValueError as exc:
        raise refused from exc
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        and 0 <= v <= 600_000 for v in values
    ):  # fmt: skip
        raise refused
    return [float(v) for v in values]


class CheckInView(StudentJPEGView):
    """The student's identity check at the start of the exam (or a retry): a burst of about
    3 s of frames, judged on a worker. Answers 202 at once; poll the `poll` URL."""

    throttle_classes = [CheckInThrottle]
    parser_classes = [MultiPartParser]  # `frames` file parts, `captured_at`

    @extend_schema(
        request={"multipart/form-data": CheckInBurstSerializer},
        responses={202: CheckInAcceptedSerializer},
    )
    def post(self, request: Request) -> Response:
        check_session_open(request.auth)  # 409 before the body is read
        try:
            files = request.FILES.getlist("frames")
            raw_captured = request.data.get("captured_at")
        except ParseError as exc:
            raise FrameRefused(400, f"The burst could not be read: {exc.detail}") from exc
        if not isinstance(raw_captured, str | None):
            raise FrameRefused(400, "`captured_at` must be a form field, not a file.")
        limit = settings.FRAME_MAX_BYTES
        too_large = [f for f in files if f.size > limit]
        if too_large:
            raise FrameRefused(413, f"A frame may be at most {limit // 1024} KB.")
        jpegs = [f.read() for f in files]
        burst_id = accept_check_in(
            session=request.auth, jpegs=jpegs, captured_at=_captured_at(raw_captured)
        )
        poll = reverse("check-in-result", args=[burst_id])
        return Response({"check_in": burst_id, "status": "pending", "poll": poll}, status=202)


class CheckInResultView(PollView):
    """The verdict of a check-in burst: {"status": "pending"} until a worker has judged it."""

    kind = bursts.CHECK_IN

    @extend_schema(responses={200: CheckInVerdictSerializer})
    def get(self, request: Request, check_id: str) -> Response:
        return super().get(request, check_id)


class SystemCheckAcceptedSerializer(PollAcceptedSerializer):
    system_check = serializers.CharField(help_text="The check's id.")


class SystemCheckResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"pending", or "done" with the result.')
    faces = serializers.IntegerField(required=False)
    brightness = serializers.FloatField(required=False)
    sharpness = serializers.FloatField(required=False)
    problems = serializers.ListField(child=serializers.CharField(), required=False)
    server_ms = serializers.FloatField(
        required=False, help_text="The worker's own time on the picture."
    )
    error = serializers.BooleanField(required=False, help_text="The check could not be run.")


class SystemCheckView(StudentJPEGView):
    """A trial picture before the exam: face visible, lit and sharp? Nothing is stored.
    Answers 202 at once; a worker checks the picture; poll the `poll` URL."""

    throttle_classes = [SystemCheckThrottle]

    @extend_schema(
        request={"image/jpeg": {"type": "string", "format": "binary"}},
        responses={202: SystemCheckAcceptedSerializer},
    )
    def post(self, request: Request) -> Response:
        check_id = accept_system_check(session=request.auth, jpeg=request.data)
        poll = reverse("system-check-result", args=[check_id])
        return Response({"system_check": check_id, "status": "pending", "poll": poll}, status=202)


class SystemCheckResultView(PollView):
    """A system check's result: {"status": "pending"} until a worker has checked it."""

    kind = bursts.SYSTEM_CHECK

    @extend_schema(responses={200: SystemCheckResultSerializer})
    def get(self, request: Request, check_id: str) -> Response:
        return super().get(request, check_id)


class FinishedSerializer(serializers.Serializer):
    status = serializers.CharField()
    finished_at = serializers.DateTimeField()


class FinishView(APIView):
    """The student finishes the exam: monitoring stops, and nothing is flagged after it."""

    authentication_classes = [ExamSessionTokenAuthentication]
    permission_classes = [IsExamSessionHolder]

    @extend_schema(request=None, responses={200: FinishedSerializer})
    def post(self, request: Request) -> Response:
        session = finish(session=request.auth)
        return Response(FinishedSerializer(session).data)
