from django.urls import path

from invigilation.reports import views

app_name = "reports"
urlpatterns = [
    path("exams/<int:exam_id>/report/", views.exam_report, name="exam"),
    path("exams/<int:exam_id>/review/", views.review_queue, name="review"),
    path("exams/<int:exam_id>/report.pdf", views.report_pdf, name="pdf"),
    path("exams/<int:exam_id>/report/flags.csv", views.flags_csv, name="flags-csv"),
    path("exams/<int:exam_id>/report/attendance.csv", views.attendance_csv, name="attendance-csv"),
    path(
        "exams/<int:exam_id>/report/timeline/<int:session_id>.png",
        views.student_timeline,
        name="timeline",
    ),
]
