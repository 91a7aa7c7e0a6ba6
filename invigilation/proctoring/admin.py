from django.contrib import admin

from invigilation.proctoring.models import Flag


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["raised_at", "kind", "severity", "session", "review_state"]
    list_filter = ["kind", "severity", "review_state", "session__exam"]
    search_fields = ["session__student__student_number", "message"]
    date_hierarchy = "raised_at"
    readonly_fields = ["session", "kind", "raised_at", "evidence", "snapshot", "confidence"]
