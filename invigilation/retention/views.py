from django.http import HttpResponse

from invigilation.core.downloads import content_disposition
from invigilation.students.models import Student


def personal_data_download(*, student: Student, data: bytes) -> HttpResponse:
    """A data-subject export as a zip download (the admin action and the API)."""
    response = HttpResponse(data, content_type="application/zip")
    name = f"personal-data-{student.student_number}.zip"
    response["Content-Disposition"] = content_disposition(name)
    response["Cache-Control"] = "private, no-store"
    return response
