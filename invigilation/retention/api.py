"""A data subject's rights through the API: the export of everything stored, and erasure."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from invigilation.accounts.permissions import IsExamAdmin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.retention.privacy import erase_student_data, export_student_data
from invigilation.retention.serializers import ErasureReportSerializer, ErasureSerializer
from invigilation.retention.views import personal_data_download
from invigilation.students.selectors import students_visible_to


class _StudentView(generics.GenericAPIView):
    permission_classes = [IsExamAdmin]
    lookup_url_kwarg = "student_id"

    def get_queryset(self):
        return students_visible_to(user=self.request.user)


class PersonalDataView(_StudentView):
    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request: Request, *args, **kwargs) -> HttpResponse:
        """Everything stored about the student, as a zip: student.json (record, attendance,
        frame results, flags and reviews), the enrolment photos and the flag snapshots."""
        student = self.get_object()
        record_access(
            request=request, action=Action.EXPORTED, what=What.PERSONAL_DATA, student=student
        )
        return personal_data_download(student=student, data=export_student_data(student=student))


class ErasureView(_StudentView):
    serializer_class = ErasureSerializer

    @extend_schema(request=ErasureSerializer, responses=ErasureReportSerializer)
    def post(self, request: Request, *args, **kwargs) -> Response:
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
