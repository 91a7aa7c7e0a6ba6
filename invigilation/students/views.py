import mimetypes

from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404

from invigilation.audit.models import Action, What
from invigilation.audit.services import record_access
from invigilation.students.models import EnrolmentPhoto
from invigilation.students.selectors import students_visible_to


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
