from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from invigilation.core.clock import format_datetime
from invigilation.exams.services import enrol_students
from invigilation.students import services
from invigilation.students.forms import PhotoUploadForm, StudentCsvImportForm
from invigilation.students.imports import UploadRejected, read_upload
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.selectors import photo_statuses


class EnrolmentPhotoInline(admin.TabularInline):
    model = EnrolmentPhoto
    extra = 0
    fields = ["preview", "check_status", "source", "confirmation", "width", "height",
              "uploaded_at"]  # fmt: skip
    readonly_fields = fields
    can_delete = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # photos arrive through the validated upload page

    @admin.display(description="Photo")
    def preview(self, photo: EnrolmentPhoto) -> str:
        url = reverse("students:photo", args=[photo.pk])
        return format_html('<img src="{}" alt="enrolment photo" style="height:80px">', url)

    @admin.display(description="Face check")
    def check_status(self, photo: EnrolmentPhoto) -> str:
        return photo_status_html(photo)

    @admin.display(description="Confirmed")
    def confirmation(self, photo: EnrolmentPhoto) -> str:
        if photo.confirmed_at is None:
            return "not yet: an invigilator approves it on the live dashboard"
        by = f" by {photo.confirmed_by}" if photo.confirmed_by_id else ""
        return f"{format_datetime(photo.confirmed_at)}{by}"


def photo_status_html(photo: EnrolmentPhoto) -> str:
    """The face check in words; a pending one is updated in place by the page's script."""
    return format_html(
        '<span class="photo-status {}" data-photo-id="{}" data-photo-status="{}">{}</span>',
        photo.face_check, photo.pk, photo.face_check, photo.status_text,
    )  # fmt: skip


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ["student_number", "full_name", "email", "photo_count"]
    search_fields = ["student_number", "full_name", "email"]
    inlines = [EnrolmentPhotoInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("photos")

    @admin.display(description="Photos")
    def photo_count(self, student: Student) -> int:
        return len(student.photos.all())

    def get_urls(self):
        own = [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),
                name="students_student_import_csv",
            ),
            path(
                "upload-photos/",
                self.admin_site.admin_view(self.upload_photos_view),
                name="students_student_upload_photos",
            ),
            path(
                "photo-status/",
                self.admin_site.admin_view(self.photo_status_view),
                name="students_student_photo_status",
            ),
        ]
        return own + super().get_urls()

    def photo_status_view(self, request: HttpRequest) -> JsonResponse:
        """The face checks of the photos asked for (?ids=1,2,3): the upload report and the
        student's page poll this until no photo is pending."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip().isdigit()]
        statuses = photo_statuses(photo_ids=ids[:500])
        return JsonResponse({str(k): v for k, v in statuses.items()})

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        pending = EnrolmentPhoto.objects.filter(
            student_id=object_id if str(object_id).isdigit() else None,
            face_check=EnrolmentPhoto.FaceCheck.PENDING,
        ).exists()
        extra_context = {**(extra_context or {}), "photos_pending": pending}
        return super().change_view(request, object_id, form_url, extra_context)

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        self._require_add_permission(request)
        form = StudentCsvImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                data = read_upload(form.cleaned_data["file"], settings.CSV_IMPORT_MAX_BYTES)
                report = services.import_students_csv(data=data)
            except UploadRejected as exc:
                messages.error(request, str(exc))
            else:
                self._enrol_imported(request, form.cleaned_data["exam"], report)
                return self._report(request, "Student import", report)
        return self._form_page(request, "Import students from CSV", form)

    def upload_photos_view(self, request: HttpRequest) -> HttpResponse:
        self._require_add_permission(request)
        form = PhotoUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                uploads = [
                    (f.name, read_upload(f, settings.PHOTO_ZIP_MAX_BYTES))
                    for f in form.cleaned_data["files"]
                ]
            except UploadRejected as exc:
                messages.error(request, str(exc))
            else:
                report = services.import_photos(uploads=uploads)
                return self._report(request, "Photo upload", report)
        return self._form_page(request, "Upload enrolment photos", form)

    def _enrol_imported(self, request: HttpRequest, exam, report: services.ImportReport) -> None:
        numbers = report.student_numbers
        if exam and numbers:
            enrol_students(exam=exam, students=Student.objects.filter(student_number__in=numbers))
            messages.info(request, f"{len(numbers)} student(s) enrolled in {exam}.")

    def _require_add_permission(self, request: HttpRequest) -> None:
        if not self.has_add_permission(request):
            raise PermissionDenied

    def _form_page(self, request: HttpRequest, title: str, form) -> HttpResponse:
        return self._page(request, "upload_form.html", title=title, form=form)

    def _report(self, request: HttpRequest, title: str, report) -> HttpResponse:
        return self._page(request, "import_report.html", title=title, report=report)

    def _page(self, request: HttpRequest, template: str, **context) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        return render(request, f"admin/students/student/{template}", context)
