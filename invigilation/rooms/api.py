import math

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from invigilation.proctoring.ingest import FrameRefused
from invigilation.rooms.authentication import CameraTokenAuthentication
from invigilation.rooms.ingest import accept_camera_frame, max_bytes
from invigilation.rooms.permissions import IsCamera


class RoomJPEGParser(BaseParser):
    media_type = "image/jpeg"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        # One byte past the limit: enough to refuse an oversized body without reading it all.
        return stream.read(max_bytes() + 1) if stream else b""


class CameraFrameAcceptedSerializer(serializers.Serializer):
    accepted = serializers.BooleanField()
    queued = serializers.BooleanField(help_text="False: it replaced a frame already waiting.")
    interval = serializers.FloatField(help_text="Seconds the camera should wait between frames.")


class CameraFrameIngestView(APIView):
    """A room camera's frame (a JPEG of the whole room, up to 4K), queued for analysis."""

    authentication_classes = [CameraTokenAuthentication]
    permission_classes = [IsCamera]
    parser_classes = [RoomJPEGParser]
    error_statuses = (409, 413, 429)  # FrameRefused, documented in the schema

    @extend_schema(
        request={"image/jpeg": {"type": "string", "format": "binary"}},
        responses={202: CameraFrameAcceptedSerializer},
    )
    def post(self, request: Request) -> Response:
        camera = request.auth
        queued = accept_camera_frame(camera=camera, jpeg=request.data)
        body = {"accepted": True, "queued": queued, "interval": 1 / camera.frames_per_second}
        return Response(body, status=202)

    def handle_exception(self, exc: Exception) -> Response:
        if not isinstance(exc, FrameRefused):
            return super().handle_exception(exc)
        # Retry-After is whole seconds (RFC 9110).
        headers = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after else {}
        return Response({"detail": exc.message}, status=exc.status, headers=headers)
