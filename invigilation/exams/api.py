import django_filters
from rest_framework import generics, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from invigilation.accounts.permissions import IsStaffReadOnlyOrAdmin
from invigilation.core.api import DateTimeFilter, IdFilter
from invigilation.exams.authentication import ExamSessionTokenAuthentication
from invigilation.exams.models import Exam, ExamSession
from invigilation.exams.permissions import IsExamSessionHolder
from invigilation.exams.selectors import exams_visible_to, sessions_visible_to
from invigilation.exams.serializers import (
    ExamSerializer,
    ExamSessionSerializer,
    StudentSessionSerializer,
)


class ExamFilter(django_filters.FilterSet):
    starts_after = DateTimeFilter(field_name="starts_at", lookup_expr="gte")
    starts_before = DateTimeFilter(field_name="starts_at", lookup_expr="lt")

    class Meta:
        model = Exam
        fields = ["mode", "course"]


class ExamSessionFilter(django_filters.FilterSet):
    exam = IdFilter()
    student = IdFilter()

    class Meta:
        model = ExamSession
        fields = ["status"]


class ExamViewSet(viewsets.ModelViewSet):
    serializer_class = ExamSerializer
    permission_classes = [IsStaffReadOnlyOrAdmin]
    filterset_class = ExamFilter
    search_fields = ["title", "course", "room"]
    ordering_fields = ["starts_at", "title", "course"]

    def get_queryset(self):
        return exams_visible_to(user=self.request.user).prefetch_related("invigilators")


class ExamSessionViewSet(viewsets.ModelViewSet):
    serializer_class = ExamSessionSerializer
    permission_classes = [IsStaffReadOnlyOrAdmin]
    filterset_class = ExamSessionFilter
    ordering_fields = ["started_at", "student__student_number"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        return sessions_visible_to(user=self.request.user).select_related("attendance")


class StudentSessionView(generics.RetrieveAPIView):
    """The exam session that the `Authorization: Session <token>` header opens."""

    authentication_classes = [ExamSessionTokenAuthentication]
    permission_classes = [IsExamSessionHolder]
    serializer_class = StudentSessionSerializer
    queryset = ExamSession.objects.none()

    def get(self, request: Request, *args, **kwargs) -> Response:
        return Response(self.get_serializer(request.auth).data)
