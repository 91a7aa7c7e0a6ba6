"""A data subject's rights in the admin: the students' page gains the personal-data export and
erasure, and its own Delete erases the same way (files and folders too, audited)."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from invigilation.accounts.roles import is_exam_admin
from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.retention.privacy import erase_student_data, export_student_data
from invigilation.retention.views import personal_data_download
from invigilation.students.admin import StudentAdmin
from invigilation.students.models import Student

admin.site.unregister(Student)


@admin.register(Student)
class StudentPrivacyAdmin(StudentAdmin):
    actions = ["export_personal_data", "erase_personal_data"]

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
