from rest_framework.permissions import SAFE_METHODS, BasePermission

from invigilation.accounts.roles import is_exam_admin, is_invigilator


class IsStaffReadOnlyOrAdmin(BasePermission):
    """Invigilators read (their querysets are scoped); exam admins also write."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return is_invigilator(request.user) or is_exam_admin(request.user)
        return is_exam_admin(request.user)


class CanReviewFlags(BasePermission):
    """Staff who may change flags; which flags is scoped by the view's queryset."""

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated and request.user.has_perm("proctoring.change_flag")


class IsExamAdmin(BasePermission):
    """Exam admins only, whatever the method (e.g. a student's data export and erasure)."""

    def has_permission(self, request, view) -> bool:
        return is_exam_admin(request.user)


class CanReadAuditLog(BasePermission):
    """Staff who may read the audit log of access to students' data (exam admins)."""

    def has_permission(self, request, view) -> bool:
        return request.user.is_authenticated and request.user.has_perm("audit.view_accessevent")
