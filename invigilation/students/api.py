from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from invigilation.accounts.permissions import IsExamAdmin, IsStaffReadOnlyOrAdmin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.exams.selectors import students_visible_to
from invigilation.students import services
from invigilation.students.imports import UploadRejected, read_upload
from invigilation.students.privacy import erase_student_data, export_student_data
from invigilation.students.serializers import (
    CsvImportSerializer,
    ErasureReportSerializer,
    ErasureSerializer,
    ImportReportSerializer,
    PhotoUploadSerializer,
    StudentSerializer,
)
from invigilation.students.views import personal_data_download


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

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        student = self.get_object()
        record_access(
            request=request, action=Action.VIEWED, what=What.STUDENT_RECORD, student=student
        )
        return Response(self.get_serializer(student).data)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(
        detail=True, methods=["get"], url_path="personal-data", permission_classes=[IsExamAdmin]
    )
    def personal_data(self, request: Request, pk: str, format: str | None = None) -> HttpResponse:
        """Everything stored about the student, as a zip: student.json (record, attendance,
        frame results, flags and reviews), the enrolment photos and the flag snapshots."""
        student = self.get_object()
        record_access(
            request=request, action=Action.EXPORTED, what=What.PERSONAL_DATA, student=student
        )
        return personal_data_download(student=student, data=export_student_data(student=student))

    @extend_schema(request=ErasureSerializer, responses=ErasureReportSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsExamAdmin])
    def erase(self, request: Request, pk: str, format: str | None = None) -> Response:
        """Delete the student and all their data (photos, embeddings, sessions, attendance,
        frame results, flags, snapshots). Send their student number as `confirm`."""
        student = self.get_object()
        form = ErasureSerializer(data=request.data, context={"student": student})
        form.is_valid(raise_exception=True)
        report = erase_student_data(student=student, by=request.user)
        record_access(
            request=request, action=Action.ERASED, what=What.PERSONAL_DATA, student=student
        )
        return Response(ErasureReportSerializer(report).data)

    @extend_schema(request=CsvImportSerializer, responses=ImportReportSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="import-csv",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_csv(self, request: Request, format: str | None = None) -> Response:
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
    def upload_photos(self, request: Request, format: str | None = None) -> Response:
        """Enrolment photos (images or zips), matched by the student number in each name."""
        form = PhotoUploadSerializer(data={"files": request.FILES.getlist("files")})
        form.is_valid(raise_exception=True)
        uploads = [
            (f.name, read_upload(f, settings.PHOTO_ZIP_MAX_BYTES))
            for f in form.validated_data["files"]
        ]
        report = services.import_photos(uploads=uploads)
        return Response(ImportReportSerializer(report).data)
