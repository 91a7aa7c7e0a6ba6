import uuid

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


class EnrolmentPhoto(models.Model):
    class FaceCheck(models.TextChoices):
        NOT_CHECKED = "not_checked", "Not checked"
        ACCEPTED = "accepted", "Exactly one face"
        REJECTED = "rejected", "Rejected"

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=photo_path)
    extension = models.CharField(max_length=8)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    face_check = models.CharField(
        max_length=16, choices=FaceCheck.choices, default=FaceCheck.NOT_CHECKED
    )
    face_check_message = models.CharField(max_length=255, blank=True)
    # Face embedding from the vision package (float32 bytes); empty until checked.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["student", "uploaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["student", "sha256"], name="unique_photo_per_student")
        ]

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.student.student_number}"
