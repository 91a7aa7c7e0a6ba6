"""Shared by the room camera tests (imported as `from tests.room_helpers import ...`)."""

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2

from tests.conftest import running_product

ROOT = Path(__file__).resolve().parents[1]
HALL_FRAMES = ("f1.jpg", "f2.jpg", "f3.jpg")

CREATE_CAMERA = """
import json
from invigilation.exams.models import Exam
from invigilation.rooms.models import Camera
camera = Camera.objects.create(exam=Exam.objects.get(pk={exam}), name="Hall", frames_per_second=1)
print(json.dumps({{"camera": camera.pk, "token": camera.token}}))
"""


@contextlib.contextmanager
def running_room(tmp_path: Path, redis_url: str) -> Iterator[dict]:
    """The product running (`manage.py run`, see conftest's `stack`) with a room camera
    "Hall" on its exam, at 1 frame per second: `camera` (id) and `token` added."""
    with running_product(tmp_path, redis_url, f"sqlite:///{tmp_path / 'db.sqlite3'}") as world:
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", CREATE_CAMERA.format(exam=world["exam"])],
            cwd=ROOT, env=world["env"], capture_output=True, text=True, check=True,
        )  # fmt: skip
        yield world | json.loads(made.stdout.strip().splitlines()[-1])


def hall_images(shared_data: Path) -> list:
    """hall-dev's hall1 frames: 1920x1080, 33 faces each (30 of its roster, 3 strangers)."""
    folder = shared_data / "hall-dev" / "hall1" / "frames"
    return [cv2.imread(str(folder / name)) for name in HALL_FRAMES]
