from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from invigilation.accounts.roles import is_exam_admin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.core.clock import format_datetime
from invigilation.exams.services import enrol_students
from invigilation.students import services
from invigilation.students.forms import PhotoUploadForm, StudentCsvImportForm
from invigilation.students.imports import UploadRejected, read_upload
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.privacy import erase_student_data, export_student_data
from invigilation.students.selectors import photo_statuses
from invigilation.students.views import personal_data_download


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
    actions = ["export_personal_data", "erase_personal_data"]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("photos")

    @admin.display(description="Photos")
    def photo_count(self, student: Student) -> int:
        return len(student.photos.all())

    def has_privacy_permission(self, request: HttpRequest) -> bool:
        return is_exam_admin(request.user)

    @admin.action(description="Export personal data (zip)", permissions=["privacy"])
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet[Student]):
        if queryset.count() != 1:
            self.message_user(request, "Select one student: an export holds one student's data.",
                              messages.WARNING)  # fmt: skip
            return None
        student = queryset.get()
        record_access(request=request, action=Action.EXPORTED, what=What.PERSONAL_DATA,
                      student=student)  # fmt: skip
        return personal_data_download(student=student, data=export_student_data(student=student))

    @admin.action(description="Erase personal data…", permissions=["privacy"])
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Student]):
        if request.POST.get("confirm") != "yes":
            students = queryset.annotate(
                photo_total=Count("photos", distinct=True),
                session_total=Count("sessions", distinct=True),
                flag_total=Count("sessions__flags", distinct=True),
            )
            return self._page(request, "erase_confirmation.html", title="Erase personal data",
                              students=students, checkbox_name=ACTION_CHECKBOX_NAME)  # fmt: skip
        students = list(queryset)
        self._erase(request, students)
        numbers = ", ".join(student.student_number for student in students)
        self.message_user(request, f"Erased {numbers} with all their data.", messages.SUCCESS)
        return None

    # The admin's own Delete erases the same way: files and folders go too, and it is audited.
    def delete_model(self, request: HttpRequest, obj: Student) -> None:
        self._erase(request, [obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Student]) -> None:
        self._erase(request, list(queryset))

    def _erase(self, request: HttpRequest, students: list[Student]) -> None:
        for student in students:
            erase_student_data(student=student, by=request.user)
            record_access(request=request, action=Action.ERASED, what=What.PERSONAL_DATA,
                          student=student)  # fmt: skip

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
