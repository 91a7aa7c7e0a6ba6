from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from invigilation.accounts.permissions import IsStaffReadOnlyOrAdmin
from invigilation.exams.selectors import students_visible_to
from invigilation.students import services
from invigilation.students.imports import UploadRejected, read_upload
from invigilation.students.serializers import (
    CsvImportSerializer,
    ImportReportSerializer,
    PhotoUploadSerializer,
    StudentSerializer,
)


class StudentViewSet(viewsets.ModelViewSet):
    serializer_class = StudentSerializer
    permission_classes = [IsStaffReadOnlyOrAdmin]
    filterset_fields = ["student_number", "email"]
    search_fields = ["student_number", "full_name", "email"]
    ordering_fields = ["student_number", "full_name", "created_at"]

    def get_queryset(self):
        return students_visible_to(user=self.request.user).prefetch_related("photos")

    def handle_exception(self, exc: Exception) -> Response:
        # An unusable upload as a whole (wrong encoding, over the limit...) is the client's error.
        if isinstance(exc, UploadRejected):
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    @extend_schema(request=CsvImportSerializer, responses=ImportReportSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="import-csv",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_csv(self, request: Request) -> Response:
        """Create or update students from a CSV (student_number, full_name, email)."""
        form = CsvImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = read_upload(form.validated_data["file"], settings.CSV_IMPORT_MAX_BYTES)
        report = services.import_students_csv(data=data)
        return Response(ImportReportSerializer(report).data)

    @extend_schema(request=PhotoUploadSerializer, responses=ImportReportSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="upload-photos",
        parser_classes=[MultiPartParser, FormParser],
    )
    def upload_photos(self, request: Request) -> Response:
        """Enrolment photos (images or zips), matched by the student number in each name."""
        form = PhotoUploadSerializer(data={"files": request.FILES.getlist("files")})
        form.is_valid(raise_exception=True)
        uploads = [
            (f.name, read_upload(f, settings.PHOTO_ZIP_MAX_BYTES))
            for f in form.validated_data["files"]
        ]
        report = services.import_photos(uploads=uploads)
        return Response(ImportReportSerializer(report).data)
