import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

student_number_validator = RegexValidator(
    r"^[A-Za-z0-9]+$", "A student number has letters and digits only."
)


class Student(models.Model):
    student_number = models.CharField(
        max_length=32, unique=True, validators=[student_number_validator]
    )
    full_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["student_number"]

    def __str__(self) -> str:
        return f"{self.student_number} {self.full_name}"


def photo_path(photo: "EnrolmentPhoto", filename: str) -> str:
    # Random names: the original file name may carry personal data and must not be trusted.
    return f"enrolment/{photo.student.student_number}/{uuid.uuid4().hex}.{photo.extension}"


class EnrolmentPhotoQuerySet(models.QuerySet):
    def usable(self) -> "EnrolmentPhotoQuerySet":
        """The photos identity checks compare against: those with a face embedding, which
        only an accepted face check stores (pending and rejected photos have none), as
        proctoring's analysis reads them."""
        return self.filter(embedding__isnull=False)


class EnrolmentPhoto(models.Model):
    class FaceCheck(models.TextChoices):
        PENDING = "pending", "Checking…"
        NOT_CHECKED = "not_checked", "Not checked"  # no face checker is configured
        ACCEPTED = "accepted", "Exactly one face"
        REJECTED = "rejected", "Rejected"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded by staff"
        CHECK_IN = "check_in", "The student's check-in"

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=photo_path)
    extension = models.CharField(max_length=8)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    # Checked on a worker (students/tasks.py): pending until then.
    face_check = models.CharField(
        max_length=16, choices=FaceCheck.choices, default=FaceCheck.PENDING
    )
    face_check_message = models.CharField(max_length=255, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Face embedding from the vision package (float32 bytes); empty until checked.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPLOAD)
    # Uploaded photos count as confirmed; a check-in photo (self-enrolment) is not, until an
    # invigilator approves it.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = EnrolmentPhotoQuerySet.as_manager()

    class Meta:
        ordering = ["student", "uploaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["student", "sha256"], name="unique_photo_per_student")
        ]

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.student.student_number}"

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def usable(self) -> bool:
        return self.embedding is not None

    @property
    def status_text(self) -> str:
        """The face check in words, as the admin and the API's `status_text` show it."""
        if self.face_check == self.FaceCheck.PENDING:
            return "checking…"
        if self.face_check == self.FaceCheck.REJECTED:
            return f"rejected: {self.face_check_message or 'the face check failed'}"
        if self.face_check == self.FaceCheck.NOT_CHECKED:
            return "not checked (no face checker is configured)"
        return "accepted" if self.confirmed else "accepted, unconfirmed (from a check-in)"
