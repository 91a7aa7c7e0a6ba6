from django.conf import settings
from django.db import models
from django.utils import timezone


class AccessEvent(models.Model):
    """Who viewed, exported or erased which student's data. Rows are only ever added.

    Deleting a user, an exam or a student (erasure) keeps the event: the links become
    empty, and the username and student number kept here still say who and whom.
    """

    class Action(models.TextChoices):
        VIEWED = "viewed", "Viewed"
        EXPORTED = "exported", "Exported"
        ERASED = "erased", "Erased"

    class What(models.TextChoices):
        LIVE_DASHBOARD = "live_dashboard", "Live dashboard page"
        FLAGS_API = "flags_api", "Flags (API)"
        EXAM_REPORT = "exam_report", "Exam report page"
        EXAM_REPORT_API = "exam_report_api", "Exam report (API)"
        REVIEW_QUEUE = "review_queue", "Review queue"
        TIMELINE = "timeline", "Student timeline plot"
        FLAGS_CSV = "flags_csv", "Flags CSV"
        ATTENDANCE_CSV = "attendance_csv", "Attendance CSV"
        REPORT_PDF = "report_pdf", "Report PDF"
        FLAG_SNAPSHOT = "flag_snapshot", "Flag snapshot"
        ENROLMENT_PHOTO = "enrolment_photo", "Enrolment photo"
        STUDENT_RECORD = "student_record", "Student record (API)"
        PERSONAL_DATA = "personal_data", "All personal data of a student"
        LATEST_FRAME = "latest_frame", "Latest webcam frame (look now)"
        CAPTURE_LINKS = "capture_links", "Capture links CSV"

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="access_events",
    )  # fmt: skip
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    what = models.CharField(max_length=32, choices=What.choices)
    exam = models.ForeignKey(
        "exams.Exam", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="access_events",
    )  # fmt: skip
    student = models.ForeignKey(
        "students.Student", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="access_events",
    )  # fmt: skip
    student_number = models.CharField(max_length=32, blank=True)
    detail = models.CharField(max_length=255, blank=True, help_text='e.g. "photo 12"')
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        # Append-only: no add, change or delete permission exists to hand out.
        default_permissions = ("view",)

    def __str__(self) -> str:
        subject = self.student_number or (str(self.exam) if self.exam else "")
        return f"{self.username or 'someone'} {self.action} {self.get_what_display()} {subject}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Access events are append-only: they are never changed.")
        super().save(*args, **kwargs)


Action = AccessEvent.Action
What = AccessEvent.What
