"""The kiosk's API, for its page (session log-in) or any staff client (token): a burst in
(202, judged on a worker), the attempt polled, then confirm, reject or override."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from invigilation.kiosk import services
from invigilation.kiosk.access import kiosk_attempt, kiosk_exam
from invigilation.kiosk.selectors import attempt_view


class KioskBurstSerializer(serializers.Serializer):
    frames = serializers.ListField(
        child=serializers.FileField(),
        help_text="CHECK_IN_BURST_MIN_FRAMES to CHECK_IN_BURST_MAX_FRAMES JPEGs (640 px at most).",
    )


class KioskAcceptedSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    status = serializers.CharField(help_text='"pending": poll the `poll` URL.')
    poll = serializers.CharField()


class KioskStudentSerializer(serializers.Serializer):
    session = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField()
    photo_url = serializers.CharField(allow_null=True)


class KioskAttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField(help_text='"pending", or "done" with the verdict.')
    method = serializers.CharField(help_text="identify (1:N) or verify (a typed number, 1:1).")
    outcome = serializers.CharField(
        help_text="pending, match, not_verified, not_enrolled, no_match, liveness_failed, "
        "already_checked_in, unusable or error."
    )
    outcome_label = serializers.CharField()
    message = serializers.CharField()
    student = KioskStudentSerializer(allow_null=True)
    verified = serializers.BooleanField(allow_null=True)
    distance = serializers.FloatField(allow_null=True)
    margin = serializers.FloatField(allow_null=True)
    seat = serializers.CharField(help_text="The seat to take (proposed), or taken (confirmed).")
    decision = serializers.CharField(help_text='"", confirmed or rejected.')
    judge_ms = serializers.FloatField(allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField())


class KioskOverrideSerializer(serializers.Serializer):
    student_number = serializers.CharField(max_length=64)


class KioskConfirmedSerializer(serializers.Serializer):
    attempt = KioskAttemptSerializer()
    checked_in_at = serializers.DateTimeField()
    seat = serializers.CharField()
    verified = serializers.BooleanField(allow_null=True)


def _refused(exc: services.KioskRefused) -> Response:
    return Response({"detail": exc.message}, status=exc.status)


class KioskBurstView(APIView):
    """A candidate at the kiosk: a burst of frames (about 3 s), judged on a worker: a live
    face, then who it is among the exam's enrolled students. Answers 202; poll `poll`."""

    parser_classes = [MultiPartParser]
    error_statuses = (409, 413)  # KioskRefused: the exam has ended; a frame too large

    @extend_schema(request={"multipart/form-data": KioskBurstSerializer},
                   responses={202: KioskAcceptedSerializer})  # fmt: skip
    def post(self, request: Request, exam_id: int) -> Response:
        exam = kiosk_exam(user=request.user, exam_id=exam_id)
        try:
            jpegs = [upload.read() for upload in request.FILES.getlist("frames")]
        except ParseError as exc:
            return Response({"detail": f"The burst could not be read: {exc.detail}"}, 400)
        try:
            attempt = services.accept_burst(exam=exam, user=request.user, jpegs=jpegs)
        except services.KioskRefused as exc:
            return _refused(exc)
        poll = reverse("kiosk-api:attempt", args=[attempt.pk])
        return Response({"attempt": attempt.pk, "status": "pending", "poll": poll}, status=202)


class KioskAttemptView(APIView):
    """An attempt as the kiosk shows it: pending until a worker has judged the burst."""

    @extend_schema(responses={200: KioskAttemptSerializer})
    def get(self, request: Request, kiosk_attempt_id: int) -> Response:
        return Response(attempt_view(kiosk_attempt(user=request.user, attempt_id=kiosk_attempt_id)))


class KioskConfirmView(APIView):
    """The invigilator confirms: the student is checked in at the seat shown."""

    error_statuses = (409,)  # KioskRefused: already decided, still pending, nothing to do

    @extend_schema(request=None, responses={200: KioskConfirmedSerializer})
    def post(self, request: Request, kiosk_attempt_id: int) -> Response:
        attempt = kiosk_attempt(user=request.user, attempt_id=kiosk_attempt_id)
        try:
            attendance = services.confirm(attempt=attempt, user=request.user)
        except services.KioskRefused as exc:
            return _refused(exc)
        attempt.refresh_from_db()
        return Response({"attempt": attempt_view(attempt), "seat": attendance.seat,
                         "checked_in_at": attendance.checked_in_at,
                         "verified": attendance.verified})  # fmt: skip


class KioskRejectView(APIView):
    """The invigilator turns the candidate away (or captures again): nothing is recorded
    but the attempt's decision."""

    error_statuses = (409,)  # KioskRefused: already decided, still pending, nothing to do

    @extend_schema(request=None, responses={200: KioskAttemptSerializer})
    def post(self, request: Request, kiosk_attempt_id: int) -> Response:
        attempt = kiosk_attempt(user=request.user, attempt_id=kiosk_attempt_id)
        try:
            attempt = services.reject(attempt=attempt, user=request.user)
        except services.KioskRefused as exc:
            return _refused(exc)
        return Response(attempt_view(attempt))


class KioskOverrideView(APIView):
    """The invigilator types the candidate's student number: the burst's faces are checked
    against that student alone (1:1). Answers 202 with the new attempt to poll."""

    error_statuses = (409,)  # KioskRefused: already decided, still pending, nothing to do

    @extend_schema(request=KioskOverrideSerializer, responses={202: KioskAttemptSerializer})
    def post(self, request: Request, kiosk_attempt_id: int) -> Response:
        attempt = kiosk_attempt(user=request.user, attempt_id=kiosk_attempt_id)
        typed = KioskOverrideSerializer(data=request.data)
        typed.is_valid(raise_exception=True)
        try:
            new = services.override(attempt=attempt, user=request.user,
                                    number=typed.validated_data["student_number"])  # fmt: skip
        except services.KioskRefused as exc:
            return _refused(exc)
        return Response(attempt_view(new), status=202)
