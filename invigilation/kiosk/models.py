import uuid

from django.conf import settings
from django.db import models

from invigilation.exams.models import Exam, ExamSession


def kiosk_snapshot_path(attempt: "KioskAttempt", filename: str) -> str:
    return f"kiosk/{attempt.exam_id}/{uuid.uuid4().hex}.jpg"


class KioskAttempt(models.Model):
    """One candidate at the entrance kiosk: a burst judged on a worker (who it is among the
    exam's enrolled students, or why not), then the invigilator's decision. Every attempt
    is kept, for the report."""

    class Method(models.TextChoices):
        IDENTIFY = "identify", "Identified among the enrolled (1:N)"
        VERIFY = "verify", "Checked against a typed student number (1:1)"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Being checked"
        MATCH = "match", "Enrolled student found"
        NOT_VERIFIED = "not_verified", "Does not match the typed student"
        NOT_ENROLLED = "not_enrolled", "Not enrolled in this exam"
        NO_MATCH = "no_match", "No match (ambiguous or no reference photos)"
        LIVENESS_FAILED = "liveness_failed", "No live face"
        ALREADY_CHECKED_IN = "already_checked_in", "Already checked in"
        UNUSABLE = "unusable", "No usable face"
        ERROR = "error", "Could not be checked"

    class Decision(models.TextChoices):
        NONE = "", "Undecided"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="kiosk_attempts")
    session = models.ForeignKey(
        ExamSession, null=True, blank=True, on_delete=models.CASCADE,
        related_name="kiosk_attempts", help_text="The student identified, or typed in.",
    )  # fmt: skip
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.IDENTIFY)
    typed_number = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=24, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.CharField(max_length=255, blank=True, help_text="What the kiosk showed.")
    verified = models.BooleanField(null=True, help_text="The face matched the student.")
    distance = models.FloatField(null=True, blank=True)
    margin = models.FloatField(null=True, blank=True, help_text="Runner-up distance minus it.")
    seat = models.CharField(max_length=4, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    # The burst's face embeddings (float32, concatenated), kept until the decision so that an
    # override checks the same faces against the typed student; once decided, kept only when
    # confirmed and matching the student (today's face: the hall cameras' reference for them).
    embeddings = models.BinaryField(null=True, editable=False)
    snapshot = models.ImageField(upload_to=kiosk_snapshot_path, blank=True)
    attempted_at = models.DateTimeField()
    judged_at = models.DateTimeField(null=True, blank=True)
    judge_ms = models.FloatField(null=True, blank=True, help_text="Worker time for the verdict.")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["attempted_at"]
        indexes = [models.Index(fields=["exam", "attempted_at"])]

    def __str__(self) -> str:
        return f"Kiosk {self.get_outcome_display().lower()} at {self.attempted_at:%H:%M:%S}"
