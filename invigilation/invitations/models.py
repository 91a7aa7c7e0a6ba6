from django.conf import settings
from django.db import models

from invigilation.exams.models import ExamSession


class Invitation(models.Model):
    """The email that gives one student their capture link: its latest request and result."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"  # claimed by a worker: a second task leaves it be
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    session = models.OneToOneField(ExamSession, on_delete=models.CASCADE, related_name="invitation")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255, blank=True, help_text="Why it failed.")
    sent_to = models.EmailField(blank=True)
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    sent_at = models.DateTimeField("last sent", null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Emails tried, resends included.")

    class Meta:
        ordering = ["session"]
        # Rows are written by the sending task only; staff read them.
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"Capture link for {self.session}: {self.get_status_display()}"
