import secrets
from dataclasses import fields
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from invigilation.decisions.rules import RuleSettings
from invigilation.exams import seating
from invigilation.students.models import Student


def validate_rule_thresholds(value: object) -> None:
    numeric = {
        f.name
        for f in fields(RuleSettings)
        if isinstance(f.default, int | float) and not isinstance(f.default, bool)
    }
    if not isinstance(value, dict):
        raise ValidationError("Give the thresholds as an object of name: number.")
    unknown = sorted(set(value) - numeric)
    if unknown:
        raise ValidationError(
            f"Unknown threshold(s): {', '.join(unknown)}. Known: {', '.join(sorted(numeric))}."
        )
    for name, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or number <= 0:
            raise ValidationError(f"{name} must be a positive number.")


# A line break in a course code once broke the exports' download headers.
no_control_characters = RegexValidator(
    r"\A[^\x00-\x1f\x7f]*\Z", "No line breaks, tabs or other control characters."
)


class Exam(models.Model):
    class Mode(models.TextChoices):
        ROOM = "room", "In a room"
        ONLINE = "online", "Online"

    title = models.CharField(max_length=200, validators=[no_control_characters])
    course = models.CharField(
        max_length=64, help_text="Course code, e.g. CS101.", validators=[no_control_characters]
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.ONLINE)
    room = models.CharField(max_length=100, blank=True)
    sampling_fps = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(5.0)],
        help_text="Webcam frames analysed per second for each student.",
    )
    check_identity = models.BooleanField(default=True)
    check_presence = models.BooleanField(default=True)
    check_multiple_faces = models.BooleanField(default=True)
    check_gaze = models.BooleanField("check looking away", default=True)
    check_expression = models.BooleanField(default=True)
    check_liveness = models.BooleanField(
        "check for a live face",
        default=True,
        help_text="Check-in requires a live face (head movement or blinks); a photo held up "
        "to the camera is refused.",
    )
    self_enrol = models.BooleanField(
        "self-enrolment at check-in",
        default=False,
        help_text="With no enrolment photo, the student's first check-in becomes their "
        "reference photo, unconfirmed until an invigilator approves it.",
    )
    rule_thresholds = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_rule_thresholds],
        help_text='Overrides of the alert rules\' thresholds, e.g. {"no_face_seconds": 15}.',
    )
    retention_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Days after the exam ends that frames, snapshots and flags are kept.",
    )
    data_purged_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the frames, flags and snapshots past retention were deleted.",
    )  # fmt: skip
    seat_rows = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(seating.MAX_ROWS)],
        help_text="Rows of the room's seat plan (A at the front); 0: no seat plan.",
    )
    seat_columns = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(seating.MAX_COLUMNS)],
        help_text="Seats per row (numbered from 1); 0: no seat plan.",
    )
    invigilators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="InvigilatorAssignment", related_name="invigilated_exams"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        permissions = [("view_all_exams", "Can see every exam, not only assigned ones")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="exam_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.course} {self.title}"

    @property
    def seat_plan(self) -> seating.Plan:
        return seating.Plan(self.seat_rows, self.seat_columns)

    @property
    def retained_until(self) -> datetime:
        return self.ends_at + timedelta(days=self.retention_days)

    def clean(self) -> None:
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The exam must end after it starts."
        if self.mode == self.Mode.ROOM and not self.room:
            errors["room"] = "An exam held in a room needs the room's name."
        if bool(self.seat_rows) != bool(self.seat_columns):
            errors["seat_columns"] = "A seat plan needs both rows and columns (or 0 for none)."
        if errors:
            raise ValidationError(errors)


class InvigilatorAssignment(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exam", "user"], name="unique_invigilator_per_exam")
        ]

    def __str__(self) -> str:
        return f"{self.user} invigilates {self.exam}"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class ExamSession(models.Model):
    """One student's attempt at one exam; its token is the student's only credential."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        IN_PROGRESS = "in_progress", "In progress"
        FINISHED = "finished", "Finished"

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="sessions")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="sessions")
    token = models.CharField(max_length=64, unique=True, default=new_session_token, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    assigned_seat = models.CharField(
        max_length=4, blank=True,
        help_text="Pre-assigned seat in the exam's seat plan (e.g. C7); blank: the next free "
        "seat in order at check-in.",
    )  # fmt: skip

    class Meta:
        ordering = ["exam", "student"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "student"], name="one_session_per_student"),
            models.UniqueConstraint(
                fields=["exam", "assigned_seat"],
                condition=~models.Q(assigned_seat=""),
                name="one_student_per_assigned_seat",
                violation_error_message="This seat is already assigned to another student.",
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.student.student_number} in {self.exam}"

    def clean(self) -> None:
        if self.assigned_seat and self.exam_id:
            try:
                self.assigned_seat = self.exam.seat_plan.normalise(self.assigned_seat)
            except seating.SeatError as exc:
                raise ValidationError({"assigned_seat": str(exc)}) from exc


class Attendance(models.Model):
    session = models.OneToOneField(ExamSession, on_delete=models.CASCADE, related_name="attendance")
    checked_in_at = models.DateTimeField()
    verified = models.BooleanField(null=True, help_text="Empty until the identity check ran.")
    verification_distance = models.FloatField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    seat = models.CharField(
        max_length=4, blank=True, help_text="The seat taken (e.g. C7), given at the kiosk."
    )

    class Meta:
        verbose_name_plural = "attendance"

    def __str__(self) -> str:
        return f"{self.session} checked in {self.checked_in_at:%Y-%m-%d %H:%M}"
