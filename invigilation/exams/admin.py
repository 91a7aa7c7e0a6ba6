from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from invigilation.exams.models import Attendance, Exam, ExamSession, InvigilatorAssignment
from invigilation.exams.services import assign_invigilator


class InvigilatorAssignmentInline(admin.TabularInline):
    model = InvigilatorAssignment
    extra = 1
    autocomplete_fields = ["user"]
    verbose_name = "invigilator"


class ExamSessionInline(admin.TabularInline):
    model = ExamSession
    extra = 0
    fields = ["student", "status", "started_at", "finished_at"]
    readonly_fields = ["status", "started_at", "finished_at"]
    autocomplete_fields = ["student"]
    verbose_name = "enrolled student"


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "starts_at", "ends_at", "mode", "room", "session_count"]
    list_filter = ["mode", "course"]
    search_fields = ["title", "course", "room"]
    date_hierarchy = "starts_at"
    inlines = [InvigilatorAssignmentInline, ExamSessionInline]
    fieldsets = [
        (None, {"fields": ["title", "course", ("starts_at", "ends_at"), ("mode", "room")]}),
        (
            "Checks",
            {
                "fields": [
                    "sampling_fps",
                    "check_identity",
                    "check_presence",
                    "check_multiple_faces",
                    "check_gaze",
                    "check_expression",
                ]
            },
        ),
        ("Privacy", {"fields": ["retention_days"]}),
    ]

    @admin.display(description="Students")
    def session_count(self, exam: Exam) -> int:
        return exam.sessions.count()

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Assigned users get the invigilator role, so they can open the dashboard.
        for assignment in form.instance.assignments.select_related("user"):
            assign_invigilator(exam=form.instance, user=assignment.user)


@admin.register(ExamSession)
class ExamSessionAdmin(admin.ModelAdmin):
    list_display = ["student", "exam", "status", "started_at", "capture_link"]
    list_filter = ["status", "exam"]
    search_fields = ["student__student_number", "student__full_name", "exam__title"]
    autocomplete_fields = ["student", "exam"]
    readonly_fields = ["capture_link", "started_at", "finished_at"]

    @admin.display(description="Student's capture link")
    def capture_link(self, session: ExamSession) -> str:
        url = reverse("proctoring:capture", args=[session.token])
        return format_html('<a href="{}">{}</a>', url, url)


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["session", "checked_in_at", "verified", "verification_distance"]
    list_filter = ["verified", "session__exam"]
    search_fields = ["session__student__student_number"]
