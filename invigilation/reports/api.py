from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response

from invigilation.accounts.permissions import IsStaffReadOnlyOrAdmin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.exams.selectors import exams_visible_to
from invigilation.reports.selectors import exam_report
from invigilation.reports.serializers import ExamReportSerializer


class ExamReportView(generics.RetrieveAPIView):
    """The post-exam summary, attendance with each student's outcome, and every flag
    (as on the report page and in its exports)."""

    permission_classes = [IsStaffReadOnlyOrAdmin]
    serializer_class = ExamReportSerializer
    lookup_url_kwarg = "exam_id"

    def get_queryset(self):
        return exams_visible_to(user=self.request.user)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        exam = self.get_object()
        record_access(request=request, action=Action.VIEWED, what=What.EXAM_REPORT_API, exam=exam)
        return Response(self.get_serializer(exam_report(exam=exam)).data)
