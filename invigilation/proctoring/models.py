import uuid

from django.conf import settings
from django.db import models

from invigilation.exams.models import Exam, ExamSession
from invigilation.students.models import Student


def snapshot_path(flag: "Flag", filename: str) -> str:
    return f"snapshots/{flag.exam_id}/{flag.session_id or 'room'}/{uuid.uuid4().hex}.jpg"


class Flag(models.Model):
    """A suspicious-behaviour alert: a reason to look, never proof of misconduct."""

    class Kind(models.TextChoices):
        NO_FACE = "no_face", "No face"
        MULTIPLE_FACES = "multiple_faces", "More than one face"
        IDENTITY_MISMATCH = "identity_mismatch", "Identity mismatch"
        LOOKING_AWAY = "looking_away", "Looking away"
        EXPRESSION = "expression", "Expression pattern"
        CAMERA_BLOCKED = "camera_blocked", "Camera covered or too dark"
        STREAM_STOPPED = "stream_stopped", "Stream stopped"
        LIVENESS_FAILED = "liveness_failed", "No live face (photo or screen?)"
        # Exams in a room: the entrance kiosk
        ALREADY_CHECKED_IN = "already_checked_in", "Already checked in"
        NOT_ENROLLED = "not_enrolled", "Not enrolled in this exam"
        NO_MATCH = "no_match", "No match at the kiosk"
        # Exams in a room: the hall cameras (`decisions.room`)
        UNKNOWN_PERSON = "unknown_person", "Unknown person in the room"
        NOT_CHECKED_IN = "not_checked_in", "Present but never checked in"
        NOT_SEEN = "not_seen", "Checked in, not seen"
        TOO_MANY_FACES = "too_many_faces", "More faces than checked-in students"
        SEAT_MISMATCH = "seat_mismatch", "At another seat"
        TWO_SEATS = "two_seats", "Seen at two places"

    class Severity(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"

    class Review(models.TextChoices):
        OPEN = "open", "Open"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"
        ESCALATED = "escalated", "Escalated"

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="flags")
    # The student's session; empty for a room's alert about no enrolled student (a stranger, a
    # crowd, a candidate at the kiosk who is not enrolled).
    session = models.ForeignKey(
        ExamSession, on_delete=models.CASCADE, related_name="flags", null=True, blank=True
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    confidence = models.FloatField(default=1.0, help_text="0..1, how sure the rule is.")
    raised_at = models.DateTimeField(db_index=True)
    message = models.CharField(max_length=255, blank=True)
    evidence = models.JSONField(default=dict, blank=True, help_text="Measurements that fired it.")
    snapshot = models.ImageField(upload_to=snapshot_path, blank=True)
    # A room camera's whole frame with every face boxed, beside the face's crop in `snapshot`.
    thumbnail = models.ImageField(upload_to=snapshot_path, blank=True)
    review_state = models.CharField(max_length=16, choices=Review.choices, default=Review.OPEN)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [
            models.Index(fields=["session", "raised_at"]),
            models.Index(fields=["exam", "raised_at"]),
        ]

    def __str__(self) -> str:
        whom = self.session or f"the room of exam {self.exam_id}"
        return f"{self.get_kind_display()} for {whom} at {self.raised_at:%H:%M:%S}"

    @property
    def student(self) -> Student | None:
        return self.session.student if self.session_id else None

    @property
    def identity_distance(self) -> float | None:
        """An identity flag's face distance: the mean over its failed checks, or, for flags
        raised before that was recorded, the distance of the frame that fired it."""
        evidence = self.evidence or {}
        if evidence.get("distance") is not None:
            return evidence["distance"]
        return (evidence.get("frame") or {}).get("identity_distance")


class FrameRecord(models.Model):
    """The compact result of one analysed frame; the frame itself is not kept."""

    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="frames")
    # The frame's idempotency key: a task delivered twice (its worker died) stores one record.
    frame_id = models.UUIDField(null=True, editable=False)
    captured_at = models.DateTimeField()
    face_count = models.PositiveSmallIntegerField()
    identity_match = models.BooleanField(null=True)
    identity_distance = models.FloatField(null=True)
    anchor_distance = models.FloatField(
        null=True, help_text="Distance to the faces of the session's verified check-in."
    )
    yaw = models.FloatField(null=True)
    pitch = models.FloatField(null=True)
    expression = models.JSONField(null=True, help_text="Class probabilities of the main face.")
    brightness = models.FloatField(null=True)
    sharpness = models.FloatField(null=True)
    timings_ms = models.JSONField(default=dict)

    class Meta:
        ordering = ["captured_at"]
        indexes = [models.Index(fields=["session", "captured_at"])]
        constraints = [
            models.UniqueConstraint(fields=["session", "frame_id"], name="one_record_per_frame")
        ]

    def __str__(self) -> str:
        return f"Frame of {self.session} at {self.captured_at:%H:%M:%S}"


class FlagReview(models.Model):
    """One review decision on a flag. Rows are only ever added: the audit trail."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="reviews")
    state = models.CharField(max_length=16, choices=Flag.Review.choices)
    note = models.TextField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    reviewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reviewed_at"]

    def __str__(self) -> str:
        return f"{self.get_state_display()} by {self.reviewer} at {self.reviewed_at:%H:%M:%S}"


def check_in_snapshot_path(attempt: "CheckInAttempt", filename: str) -> str:
    return f"check-ins/{attempt.session.exam_id}/{attempt.session_id}/{uuid.uuid4().hex}.jpg"


class CheckInAttempt(models.Model):
    """One identity check at the start of a session (a burst of frames): its verdict, the
    evidence, and, once verified, the session's own face reference (the anchor)."""

    class Outcome(models.TextChoices):
        VERIFIED = "verified", "Verified"
        NOT_VERIFIED = "not_verified", "Not verified"
        LIVENESS_FAILED = "liveness_failed", "No live face"
        NO_REFERENCE = "no_reference", "No reference photo"
        UNUSABLE = "unusable", "Unusable burst"  # no face, several faces, too dark

    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="check_ins")
    attempted_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    message = models.CharField(max_length=255, help_text="What the student was told.")
    distance = models.FloatField(null=True, help_text="Median distance to the enrolment photos.")
    evidence = models.JSONField(
        default=dict, blank=True, help_text="Liveness and identity measures."
    )
    # float32 embeddings of the burst's faces, concatenated: the session's reference once verified.
    anchor = models.BinaryField(null=True, editable=False)
    snapshot = models.ImageField(upload_to=check_in_snapshot_path, blank=True)

    class Meta:
        ordering = ["attempted_at"]
        indexes = [models.Index(fields=["session", "attempted_at"])]

    def __str__(self) -> str:
        when = f"{self.attempted_at:%H:%M:%S}"
        return f"{self.get_outcome_display()} check-in of {self.session} at {when}"
