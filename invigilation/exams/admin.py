from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from invigilation.accounts.roles import is_exam_admin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.core.clock import format_datetime
from invigilation.core.downloads import content_disposition
from invigilation.exams.forms import THRESHOLD_NAMES, ExamForm, TimetableImportForm
from invigilation.exams.models import Attendance, Exam, ExamSession, InvigilatorAssignment
from invigilation.exams.services import assign_invigilator
from invigilation.exams.timetable import import_timetable
from invigilation.invitations.exports import capture_links_csv, capture_links_filename
from invigilation.invitations.models import Invitation
from invigilation.invitations.selectors import invitation_counts
from invigilation.invitations.services import email_capture_links
from invigilation.rooms.admin import CameraInline
from invigilation.students.imports import UploadRejected, read_upload


class InvigilatorAssignmentInline(admin.TabularInline):
    model = InvigilatorAssignment
    extra = 1
    autocomplete_fields = ["user"]
    verbose_name = "invigilator"


class ExamSessionInline(admin.TabularInline):
    model = ExamSession
    extra = 0
    fields = ["student", "assigned_seat", "status", "started_at", "finished_at", "link_email"]
    readonly_fields = ["status", "started_at", "finished_at", "link_email"]
    autocomplete_fields = ["student"]
    verbose_name = "enrolled student"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExamSession]:
        return super().get_queryset(request).select_related("student", "invitation")

    @admin.display(description="Capture-link email")
    def link_email(self, session: ExamSession) -> str:
        invitation = getattr(session, "invitation", None) if session.pk else None
        if invitation is None:
            return "not sent"
        if invitation.status == Invitation.Status.SENT:
            return f"sent {format_datetime(invitation.sent_at)}"
        if invitation.status == Invitation.Status.FAILED:
            return f"failed: {invitation.reason}"
        return invitation.get_status_display().lower()


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    form = ExamForm
    list_display = ["title", "course", "starts_at", "ends_at", "mode", "room", "session_count"]
    list_filter = ["mode", "course"]
    search_fields = ["title", "course", "room"]
    date_hierarchy = "starts_at"
    inlines = [InvigilatorAssignmentInline, ExamSessionInline, CameraInline]
    actions = ["export_capture_links", "email_capture_links"]
    fieldsets = [
        (None, {"fields": ["title", "course", ("starts_at", "ends_at"), ("mode", "room")]}),
        (
            "Checks",
            {
                "fields": [
                    "sampling_fps",
                    "check_identity",
                    "check_liveness",
                    "self_enrol",
                    "check_presence",
                    "check_multiple_faces",
                    "check_gaze",
                    "check_expression",
                ]
            },
        ),
        (
            "Alert thresholds",
            {
                "fields": THRESHOLD_NAMES,
                "description": "A rule raises a flag once its condition has lasted this long "
                "(or this many checks). Leave a field blank to use its default.",
            },
        ),
        (
            "Seat plan (exams in a room)",
            {
                "fields": [("seat_rows", "seat_columns"), "seat_assignments"],
                "description": "Rows (A at the front) by seats per row (1, 2, ...). The "
                "entrance kiosk gives each student their pre-assigned seat, else the next "
                "free one row by row. 0 rows: no seat plan.",
            },
        ),
        ("Privacy", {"fields": ["retention_days"]}),
    ]

    @admin.display(description="Students")
    def session_count(self, exam: Exam) -> int:
        return exam.sessions.count()

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        assigned = form.save_seat_assignments()  # after the inline rows, so the CSV wins
        if assigned:
            self.message_user(request, f"{assigned} pre-assigned seat(s) from the CSV.")
        # Assigned users get the invigilator role, so they can open the dashboard.
        for assignment in form.instance.assignments.select_related("user"):
            assign_invigilator(exam=form.instance, user=assignment.user)

    # Capture links open an exam as its student: only exam admins hand them out.
    def has_exam_admin_permission(self, request: HttpRequest) -> bool:
        return is_exam_admin(request.user)

    @admin.action(description="Export capture links (CSV)", permissions=["exam_admin"])
    def export_capture_links(self, request: HttpRequest, queryset: QuerySet[Exam]) -> HttpResponse:
        return self._capture_links_download(request, list(queryset))

    @admin.action(description="Email capture links to students", permissions=["exam_admin"])
    def email_capture_links(self, request: HttpRequest, queryset: QuerySet[Exam]) -> None:
        for exam in queryset:
            queued, skipped = email_capture_links(exam=exam, requested_by=request.user)
            already = (
                f"; {skipped} already sent (send those again from the list)" if skipped else ""
            )
            self.message_user(request, f"{exam}: {queued} email(s) queued{already}.")

    def capture_links_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_exam_admin_permission(request):
            raise PermissionDenied
        exam = self.get_object(request, object_id)
        if exam is None:
            raise Http404("No such exam.")
        return self._capture_links_download(request, [exam])

    def _capture_links_download(self, request: HttpRequest, exams: list[Exam]) -> HttpResponse:
        for exam in exams:
            record_access(request=request, action=Action.EXPORTED, what=What.CAPTURE_LINKS,
                          exam=exam)  # fmt: skip
        name = capture_links_filename(exam=exams[0]) if len(exams) == 1 else "capture-links.csv"
        response = HttpResponse(capture_links_csv(exams=exams), content_type="text/csv")
        response["Content-Disposition"] = content_disposition(name)
        return response

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        exam = self.get_object(request, object_id)
        if exam is not None and self.has_exam_admin_permission(request):
            extra_context = {**(extra_context or {}), "link_emails": _email_summary(exam)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        own = [
            path(
                "import-timetable/",
                self.admin_site.admin_view(self.import_timetable_view),
                name="exams_exam_import_timetable",
            ),
            path(
                "<path:object_id>/capture-links/",
                self.admin_site.admin_view(self.capture_links_view),
                name="exams_exam_capture_links",
            ),
        ]
        return own + super().get_urls()

    def import_timetable_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TimetableImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                data = read_upload(form.cleaned_data["file"], settings.CSV_IMPORT_MAX_BYTES)
                report = import_timetable(data=data)
            except UploadRejected as exc:
                messages.error(request, str(exc))
            else:
                return self._page(request, "timetable_report.html", title="Timetable import",
                                  report=report)  # fmt: skip
        return self._page(request, "timetable_form.html", title="Import exams from a timetable",
                          form=form)  # fmt: skip

    def _page(self, request: HttpRequest, template: str, **context) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        return render(request, f"admin/exams/exam/{template}", context)


def _email_summary(exam: Exam) -> dict:
    """The exam's capture-link emails by status, and where to see each one."""
    counts = invitation_counts(exam=exam)
    by_status = [f"{counts[status]} {label.lower()}" for status, label in
                 Invitation.Status.choices if counts.get(status)]  # fmt: skip
    url = reverse("admin:invitations_invitation_changelist")
    return {"url": f"{url}?session__exam__id__exact={exam.pk}", "counts": ", ".join(by_status)}


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
    list_display = ["session", "checked_in_at", "verified", "verification_distance", "seat"]
    list_filter = ["verified", "session__exam"]
    search_fields = ["session__student__student_number"]
