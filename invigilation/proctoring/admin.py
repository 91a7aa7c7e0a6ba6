from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from invigilation.proctoring.models import Flag, FlagReview


class FlagReviewInline(admin.TabularInline):
    model = FlagReview
    fields = ["reviewed_at", "reviewer", "state", "note"]
    readonly_fields = fields
    extra = 0
    verbose_name = "review"
    verbose_name_plural = "review trail"

    # Shown to whoever may see the flag; the trail is only ever added to by reviews.
    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("proctoring.view_flag")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _picture(flag: Flag, field: str) -> str:
    if not getattr(flag, field):
        return "none"
    # Through the API's permission-checked (and audited) view: files have no public URL.
    url = reverse(f"flag-{field}", args=[flag.pk])
    return format_html('<a href="{}"><img src="{}" alt="{}" style="height:160px"></a>',
                       url, url, field)  # fmt: skip


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    """Flags are evidence the system raised: read-only here. Reviews go through the review
    actions (dashboard, review queue, API), which keep the trail; only erasure and the
    retention purge delete flags."""

    list_display = ["raised_at", "kind", "severity", "exam", "session", "review_state"]
    list_filter = ["kind", "severity", "review_state", "exam"]
    search_fields = ["session__student__student_number", "message"]
    date_hierarchy = "raised_at"
    list_select_related = ["session__student", "exam"]
    fields = ["exam", "session", "kind", "severity", "confidence", "raised_at", "message",
              "evidence", "snapshot_image", "thumbnail_image", "review_state", "reviewed_by",
              "reviewed_at", "review_note"]  # fmt: skip
    readonly_fields = fields
    inlines = [FlagReviewInline]

    @admin.display(description="Snapshot")
    def snapshot_image(self, flag: Flag) -> str:
        return _picture(flag, "snapshot")

    @admin.display(description="Whole frame")
    def thumbnail_image(self, flag: Flag) -> str:
        return _picture(flag, "thumbnail")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    # A flag goes only with what it belongs to: deleting its student (erasure) or exam asks
    # this about each of its flags. There is no delete page or bulk action for flags alone.
    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is not None and super().has_delete_permission(request, obj)

    def get_urls(self):
        return [url for url in super().get_urls() if url.name != "proctoring_flag_delete"]

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)
