from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from invigilation.accounts.login import ObtainAuthTokenView
from invigilation.audit.api import AccessEventViewSet
from invigilation.exams.api import ExamSessionViewSet, ExamViewSet, StudentSessionView
from invigilation.proctoring.api import (
    CheckInResultView,
    CheckInView,
    FinishView,
    FlagViewSet,
    FrameIngestView,
    SystemCheckResultView,
    SystemCheckView,
)
from invigilation.reports.api import ExamReportView
from invigilation.retention.api import ErasureView, PersonalDataView
from invigilation.students.api import StudentViewSet

router = DefaultRouter()
router.register("exams", ExamViewSet, basename="exam")
router.register("students", StudentViewSet, basename="student")
router.register("sessions", ExamSessionViewSet, basename="session")
router.register("flags", FlagViewSet, basename="flag")
router.register("audit", AccessEventViewSet, basename="access-event")

urlpatterns = [
    path("exams/<int:exam_id>/report/", ExamReportView.as_view(), name="exam-report"),
    path(
        "students/<int:student_id>/personal-data/",
        PersonalDataView.as_view(),
        name="student-personal-data",
    ),
    path("students/<int:student_id>/erase/", ErasureView.as_view(), name="student-erase"),
    path("", include("invigilation.kiosk.api_urls")),
    path("", include("invigilation.rooms.api_urls")),
    path("", include(router.urls)),
    path("auth/token/", ObtainAuthTokenView.as_view(), name="api-token"),
    path("me/session/", StudentSessionView.as_view(), name="student-session"),
    path("me/check-in/", CheckInView.as_view(), name="check-in"),
    path("me/check-in/<str:check_id>/", CheckInResultView.as_view(), name="check-in-result"),
    path("me/system-check/", SystemCheckView.as_view(), name="system-check"),
    path(
        "me/system-check/<str:check_id>/",
        SystemCheckResultView.as_view(),
        name="system-check-result",
    ),
    path("me/finish/", FinishView.as_view(), name="finish"),
    path("frames/", FrameIngestView.as_view(), name="frame-ingest"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
