import secrets

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from invigilation.decisions import seat_map
from invigilation.exams.models import Exam


def new_camera_token() -> str:
    return secrets.token_urlsafe(32)


def validate_seat_calibration(text: str) -> None:
    """The calibration's form alone; whether the exam's plan can use it is `Camera.clean`'s."""
    if text:
        try:
            seat_map.parse_camera_calibration(text)
        except seat_map.CalibrationError as exc:
            raise ValidationError(str(exc)) from exc


class Camera(models.Model):
    """A camera watching an exam's room: a laptop's browser or a network camera. Its token is
    its only credential, like a student's session token; whoever holds it can send frames."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="cameras")
    name = models.CharField(max_length=100, help_text='e.g. "Front left".')
    position = models.CharField(
        max_length=200, blank=True, help_text='Where it stands and what it sees, e.g. "front '
        'left, rows A-E".',
    )  # fmt: skip
    token = models.CharField(max_length=64, unique=True, default=new_camera_token, editable=False)
    frames_per_second = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.2), MaxValueValidator(1.0)],
        help_text="Frames the camera sends per second (0.2 to 1): each frame is a whole room.",
    )
    active = models.BooleanField(
        default=True, help_text="An inactive camera's frames are refused and its page is closed."
    )
    seat_calibration = models.CharField(
        max_length=200, blank=True, validators=[validate_seat_calibration],
        help_text="Where the seat plan's four corner seats appear in this camera's frame, so "
        "the room rules know which seat each face is on: the frame's size, then the pixel "
        "position (x,y) of the face of a student sitting at A1 (front left), at the last seat "
        "of row A (front right), at the last seat of the back row (back right) and at the "
        'first seat of the back row (back left), e.g. "1920x1080: 310,900; 1610,905; '
        '1240,420; 680,415". Hover the camera\'s room view image to read a pixel position. '
        "Needs the exam's seat plan (at least 2 rows and 2 columns). Blank: not calibrated.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["exam", "name"]
        constraints = [
            models.UniqueConstraint(fields=["exam", "name"], name="one_camera_name_per_exam")
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.exam}"

    def save(self, *args, **kwargs) -> None:
        # Cameras made in code or the shell skip the form's validation; a malformed
        # calibration would only surface in the worker.
        validate_seat_calibration(self.seat_calibration)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not self.seat_calibration or not self.exam_id:
            return
        plan = self.exam.seat_plan
        if not plan.exists:
            raise ValidationError(
                {"seat_calibration": "This exam has no seat plan (rows × columns) to map."}
            )
        try:
            seat_map.grid_corners(plan.rows, plan.columns)
        except seat_map.CalibrationError as exc:
            raise ValidationError({"seat_calibration": str(exc)}) from exc


class Sighting(models.Model):
    """When the room's cameras identified a student: the first and the latest time, and how
    many frames. The report's attendance from the cameras (frames themselves are not kept)."""

    session = models.OneToOneField(
        "exams.ExamSession", on_delete=models.CASCADE, related_name="room_sighting"
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    frames = models.PositiveIntegerField(default=0)
    camera = models.ForeignKey(
        Camera, null=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The camera that saw them last.",
    )  # fmt: skip

    def __str__(self) -> str:
        return f"{self.session} seen {self.first_seen_at:%H:%M}-{self.last_seen_at:%H:%M}"
