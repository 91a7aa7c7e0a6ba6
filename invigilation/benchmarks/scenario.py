"""What the benchmarks measure with: webcam-like frames, exams, students, an invigilator."""

from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
from django.contrib.auth.models import User
from django.utils import timezone

from invigilation.exams.models import Exam, ExamSession
from invigilation.exams.services import assign_invigilator, check_in, enrol_students
from invigilation.students.models import Student
from invigilation.students.services import add_photo

WIDTH, HEIGHT = 640, 480


def webcam_jpegs(video: Path, limit: int = 0) -> list[bytes]:
    """The clip's frames as a 640x480 webcam sends them (letterboxed), JPEG quality 85."""
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot open video {video}")
    jpegs = []
    while not limit or len(jpegs) < limit:
        ok, image = capture.read()
        if not ok:
            break
        jpegs.append(cv2.imencode(".jpg", letterbox(image), [cv2.IMWRITE_JPEG_QUALITY, 85])[1])
    capture.release()
    if not jpegs:
        raise ValueError(f"no frames in {video}")
    return [j.tobytes() for j in jpegs]


def letterbox(image: np.ndarray) -> np.ndarray:
    scale = min(WIDTH / image.shape[1], HEIGHT / image.shape[0])
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    top, left = (HEIGHT - resized.shape[0]) // 2, (WIDTH - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


def create_exam(
    *,
    title: str,
    students: int,
    enrol_with: bytes,
    sampling_fps: float = 1.0,
    thresholds: dict | None = None,
) -> tuple[Exam, list[ExamSession]]:
    """A running exam whose students are all enrolled from the same photo and checked in
    (frames before a check-in are refused)."""
    now = timezone.now()
    exam = Exam.objects.create(
        title=title, course="BENCH", starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=3), sampling_fps=sampling_fps,
        rule_thresholds=thresholds or {},
    )  # fmt: skip
    enrolled = []
    for i in range(students):
        student = Student.objects.create(
            student_number=f"{title}-{i:03d}", full_name=f"Student {i} of {title}"
        )
        add_photo(
            student=student, data=enrol_with, original_name="enrolment.jpg", check_inline=True
        )
        enrolled.append(student)
    sessions = enrol_students(exam=exam, students=enrolled)
    for session in sessions:
        check_in(session=session, verified=None)
    return exam, sessions


def create_invigilator(*, exam: Exam, username: str, password: str) -> User:
    user = User.objects.create_user(username, password=password)
    assign_invigilator(exam=exam, user=user)
    return user
