"""Demo users and a running demo exam, so a first run has something to look at."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from invigilation.accounts.roles import ADMIN_GROUP
from invigilation.exams.models import Exam
from invigilation.exams.services import assign_invigilator, enrol_students
from invigilation.students.models import Student

DEMO_STUDENTS = [
    ("S1000001", "Ada Lovelace", "ada@example.edu"),
    ("S1000002", "Alan Turing", "alan@example.edu"),
    ("S1000003", "Grace Hopper", "grace@example.edu"),
]


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    role: str


@transaction.atomic
def ensure_demo_data(*, credentials_file: Path) -> list[Credentials]:
    """Create the demo users and exam once; later runs read the saved credentials."""
    if credentials_file.exists():
        return _read(credentials_file)
    admin, admin_password = _user("admin", is_superuser=True)
    admin.groups.add(Group.objects.get(name=ADMIN_GROUP))
    invigilator, invigilator_password = _user("invigilator", is_superuser=False)
    now = timezone.now()
    exam = Exam.objects.create(
        title="Demo exam: Algorithms", course=settings.DEMO_COURSE, mode=Exam.Mode.ONLINE,
        starts_at=now - timedelta(minutes=10), ends_at=now + timedelta(hours=3),
        # The demo's students have no photos: each one's first check-in becomes their
        # reference (unconfirmed until the invigilator approves it on the dashboard).
        self_enrol=True,
    )  # fmt: skip
    assign_invigilator(exam=exam, user=invigilator)
    students = [
        Student.objects.get_or_create(
            student_number=number, defaults={"full_name": name, "email": email}
        )[0]
        for number, name, email in DEMO_STUDENTS
    ]
    enrol_students(exam=exam, students=students)
    creds = [
        Credentials("admin", admin_password, "exam admin"),
        Credentials("invigilator", invigilator_password, "invigilator of the demo exam"),
    ]
    _write(credentials_file, creds)
    return creds


def _user(username: str, *, is_superuser: bool) -> tuple[User, str]:
    password = secrets.token_urlsafe(9)
    user, _ = User.objects.get_or_create(username=username)
    user.is_staff = is_superuser
    user.is_superuser = is_superuser
    user.set_password(password)
    user.save()
    return user, password


def _write(path: Path, creds: list[Credentials]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("".join(f"{c.username}\t{c.password}\t{c.role}\n" for c in creds))


def _read(path: Path) -> list[Credentials]:
    lines = [line.split("\t") for line in path.read_text().splitlines() if line]
    return [Credentials(*parts) for parts in lines if len(parts) == 3]
