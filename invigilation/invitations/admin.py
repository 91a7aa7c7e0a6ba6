from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path

from invigilation.accounts.roles import is_exam_admin
from invigilation.invitations.models import Invitation
from invigilation.invitations.services import resend_capture_links


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["student", "email", "exam", "status", "reason", "sent_at", "sent_to",
                    "attempts", "requested_at", "requested_by"]  # fmt: skip
    list_display_links = None  # every field is in the list: no page per row
    list_filter = ["status", ("session__exam", admin.RelatedOnlyFieldListFilter), "sent_at"]
    search_fields = ["session__student__student_number", "session__student__full_name",
                     "session__student__email"]  # fmt: skip
    list_select_related = ["session__student", "session__exam", "requested_by"]
    actions = ["send_again"]

    @admin.display(description="Student", ordering="session__student__student_number")
    def student(self, invitation: Invitation) -> str:
        return str(invitation.session.student)

    @admin.display(description="Email address now")
    def email(self, invitation: Invitation) -> str:
        return invitation.session.student.email

    @admin.display(description="Exam", ordering="session__exam__starts_at")
    def exam(self, invitation: Invitation) -> str:
        return str(invitation.session.exam)

    @admin.action(description="Send the capture link again", permissions=["exam_admin"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        queued = resend_capture_links(invitations=queryset, requested_by=request.user)
        self.message_user(request, f"{queued} email(s) queued.", messages.SUCCESS)

    # The rows are written by the sending task only: a read-only list for exam admins.
    def get_urls(self):
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="invitations_invitation_changelist")]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_exam_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_exam_admin(request.user)

    def has_exam_admin_permission(self, request: HttpRequest) -> bool:
        return is_exam_admin(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    # Asked only when deleting a student (erasure) or an exam takes their emails along.
    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is not None and is_exam_admin(request.user)
