import hashlib

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from invigilation.accounts.permissions import IsStaffReadOnlyOrAdmin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.students import services
from invigilation.students.imports import UploadRejected, read_upload
from invigilation.students.models import EnrolmentPhoto
from invigilation.students.selectors import students_visible_to
from invigilation.students.serializers import (
    CsvImportSerializer,
    EnrolmentPhotoSerializer,
    ImportReportSerializer,
    PhotoUploadSerializer,
    SinglePhotoUploadSerializer,
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

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        student = self.get_object()
        record_access(
            request=request, action=Action.VIEWED, what=What.STUDENT_RECORD, student=student
        )
        return Response(self.get_serializer(student).data)

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
        """Enrolment photos (images or zips), matched by the student number in each name.
        Each photo is stored at once with its face check pending (`outcomes[].photo.status`);
        a worker then accepts it (exactly one face) or rejects it with the reason. A file that
        is no image is refused in the report at once."""
        form = PhotoUploadSerializer(data={"files": request.FILES.getlist("files")})
        form.is_valid(raise_exception=True)
        uploads = [
            (f.name, read_upload(f, settings.PHOTO_ZIP_MAX_BYTES))
            for f in form.validated_data["files"]
        ]
        report = services.import_photos(uploads=uploads)
        return Response(ImportReportSerializer(report).data)

    @extend_schema(
        methods=["post"],
        request={"multipart/form-data": SinglePhotoUploadSerializer},
        responses={
            202: OpenApiResponse(
                EnrolmentPhotoSerializer,
                description='Stored, its face check queued: `status` is "pending". A worker '
                "accepts it (exactly one face) or rejects it with the `reason`; read it again "
                "at the `Location` given.",
            ),
            200: OpenApiResponse(
                EnrolmentPhotoSerializer, description="The same photo was already stored."
            ),
            400: OpenApiResponse(description="Not an image (or too large, corrupt, empty)."),
        },
    )
    @extend_schema(methods=["get"], responses=EnrolmentPhotoSerializer(many=True))
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="photos",
        parser_classes=[MultiPartParser, FormParser],
        pagination_class=None,  # a student's few photos, as one list
    )
    def photos(self, request: Request, pk: str, format: str | None = None) -> Response:
        """The student's enrolment photos with their face checks (GET), or upload one (POST,
        exam admins): the face check runs on a worker, so the photo comes back pending."""
        student = self.get_object()
        if request.method == "GET":
            return Response(EnrolmentPhotoSerializer(student.photos.all(), many=True).data)
        form = SinglePhotoUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        data = read_upload(upload, settings.PHOTO_MAX_BYTES)
        photo = services.add_photo(student=student, data=data, original_name=upload.name)
        if photo is None:  # the same file again
            digest = hashlib.sha256(data).hexdigest()
            photo = student.photos.get(sha256=digest)
            return Response(EnrolmentPhotoSerializer(photo).data, status=status.HTTP_200_OK)
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{photo.pk}/")
        return Response(
            EnrolmentPhotoSerializer(photo).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )

    @extend_schema(responses=EnrolmentPhotoSerializer)
    @action(detail=True, methods=["get"], url_path=r"photos/(?P<photo_id>[0-9]+)")
    def photo(self, request: Request, pk: str, photo_id: str, format: str | None = None):
        """One enrolment photo's face check: pending, accepted, or rejected with the reason."""
        student = self.get_object()
        photo = get_object_or_404(EnrolmentPhoto, pk=photo_id, student=student)
        return Response(EnrolmentPhotoSerializer(photo).data)
