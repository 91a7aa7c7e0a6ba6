import mimetypes

from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.core.api import content_disposition
from invigilation.exams.selectors import students_visible_to
from invigilation.students.models import EnrolmentPhoto, Student


@permission_required("students.view_enrolmentphoto", raise_exception=True)
def photo_file(request: HttpRequest, photo_id: int) -> FileResponse:
    """Enrolment photos are biometric data: served only to staff allowed to see them."""
    # Invigilators see the photos of their exams' students only.
    students = students_visible_to(user=request.user)
    photo = get_object_or_404(EnrolmentPhoto, pk=photo_id, student__in=students)
    record_access(request=request, action=Action.VIEWED, what=What.ENROLMENT_PHOTO,
                  student=photo.student, detail=f"photo {photo.pk}")  # fmt: skip
    response = FileResponse(
        photo.image.open("rb"), content_type=mimetypes.guess_type(photo.image.name)[0]
    )
    response["Cache-Control"] = "private, no-store"
    return response


def personal_data_download(*, student: Student, data: bytes) -> HttpResponse:
    """A data-subject export as a zip download (the admin action and the API)."""
    response = HttpResponse(data, content_type="application/zip")
    name = f"personal-data-{student.student_number}.zip"
    response["Content-Disposition"] = content_disposition(name)
    response["Cache-Control"] = "private, no-store"
    return response
