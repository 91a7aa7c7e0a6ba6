from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from invigilation.rooms.models import Camera


def camera_url(camera: Camera) -> str:
    """The absolute link to the camera's page, on SITE_URL (a laptop in the room opens it)."""
    return settings.SITE_URL.rstrip("/") + reverse("rooms:camera", args=[camera.token])


class CameraLinkMixin:
    @admin.display(description="Camera page")
    def page_link(self, camera: Camera) -> str:
        if not camera.pk:
            return "saved first"
        return format_html('<a href="{}" rel="noreferrer" target="_blank">{}</a>',
                           camera_url(camera), camera_url(camera))  # fmt: skip


class CameraInline(CameraLinkMixin, admin.TabularInline):
    """The exam's room cameras, on the exam's admin page (ExamAdmin.inlines)."""

    model = Camera
    extra = 0
    fields = ["name", "position", "frames_per_second", "active", "seat_calibration", "page_link"]
    readonly_fields = ["page_link"]
    verbose_name = "room camera"


@admin.register(Camera)
class CameraAdmin(CameraLinkMixin, admin.ModelAdmin):
    list_display = ["name", "exam", "position", "frames_per_second", "active", "calibrated",
                    "created_at"]  # fmt: skip
    list_filter = ["active", "exam"]
    search_fields = ["name", "position", "exam__title", "exam__course"]
    list_select_related = ["exam"]
    autocomplete_fields = ["exam"]
    fields = ["exam", "name", "position", "frames_per_second", "active", "seat_calibration",
              "page_link", "created_at"]  # fmt: skip
    readonly_fields = ["page_link", "created_at"]

    @admin.display(description="Seats calibrated", boolean=True)
    def calibrated(self, camera: Camera) -> bool:
        return bool(camera.seat_calibration)
