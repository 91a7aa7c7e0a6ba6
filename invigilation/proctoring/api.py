import math

import django_filters
from django.conf import settings
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from invigilation.accounts.authentication import ExamSessionTokenAuthentication
from invigilation.accounts.permissions import (
    CanReviewFlags,
    IsExamSessionHolder,
    IsStaffReadOnlyOrAdmin,
)
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.core.api import DateTimeFilter, IdFilter
from invigilation.exams.selectors import exams_visible_to
from invigilation.proctoring.ingest import (
    FrameRefused,
    accept_frame,
    check_in_with_photo,
    finish,
    system_check,
)
from invigilation.proctoring.models import Flag
from invigilation.proctoring.selectors import flags_visible_to
from invigilation.proctoring.serializers import FlagReviewInputSerializer, FlagSerializer
from invigilation.proctoring.services import ReviewRefused, review_flag
from invigilation.proctoring.throttles import CheckInThrottle, SystemCheckThrottle


class FlagFilter(django_filters.FilterSet):
    exam = IdFilter(field_name="session__exam")
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
                      exam=flag.session.exam, student=flag.session.student,
                      detail=f"flag {flag.pk}")  # fmt: skip
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
        """The evidence frame, with the faces boxed."""
        flag = self.get_object()
        if not flag.snapshot:
            raise Http404("This flag has no snapshot.")
        record_access(request=request, action=Action.VIEWED, what=What.FLAG_SNAPSHOT,
                      exam=flag.session.exam, student=flag.session.student,
                      detail=f"flag {flag.pk}")  # fmt: skip
        response = FileResponse(flag.snapshot.open("rb"), content_type="image/jpeg")
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


class CheckInResultSerializer(serializers.Serializer):
    checked_in_at = serializers.DateTimeField(source="attendance.checked_in_at")
    verified = serializers.BooleanField(source="attendance.verified", allow_null=True)
    verification_distance = serializers.FloatField(
        source="attendance.verification_distance", allow_null=True
    )
    has_reference = serializers.BooleanField(
        help_text="False: the student has no enrolment photo, so nothing was compared."
    )
    message = serializers.CharField(help_text="What to tell the student.")


class CheckInView(StudentJPEGView):
    """The student's identity check at the start of the exam (or a retry): one photo."""

    throttle_classes = [CheckInThrottle]

    @extend_schema(
        request={"image/jpeg": {"type": "string", "format": "binary"}},
        responses={200: CheckInResultSerializer},
    )
    def post(self, request: Request) -> Response:
        result = check_in_with_photo(session=request.auth, jpeg=request.data)
        return Response(CheckInResultSerializer(result).data)


class SystemCheckResultSerializer(serializers.Serializer):
    faces = serializers.IntegerField()
    brightness = serializers.FloatField()
    sharpness = serializers.FloatField()
    problems = serializers.ListField(child=serializers.CharField())
    server_ms = serializers.FloatField(help_text="The server's own time on the picture.")


class SystemCheckView(StudentJPEGView):
    """A trial picture before the exam: face visible, lit and sharp? Nothing is stored."""

    throttle_classes = [SystemCheckThrottle]

    @extend_schema(
        request={"image/jpeg": {"type": "string", "format": "binary"}},
        responses={200: SystemCheckResultSerializer},
    )
    def post(self, request: Request) -> Response:
        result = system_check(session=request.auth, jpeg=request.data)
        return Response(SystemCheckResultSerializer(result).data)


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
