from django.contrib import admin
from django.http import HttpRequest

from invigilation.audit.models import AccessEvent


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    list_display = ["at", "username", "action", "what", "student_number", "exam", "detail", "ip"]
    list_filter = [
        "action",
        "what",
        ("user", admin.RelatedOnlyFieldListFilter),
        ("student", admin.RelatedOnlyFieldListFilter),
        ("exam", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["student_number", "username", "student__full_name", "ip"]
    date_hierarchy = "at"
    list_select_related = ["exam"]

    # Read-only for everyone, superusers included: the log is evidence.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
