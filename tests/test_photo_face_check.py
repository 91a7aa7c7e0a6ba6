"""Enrolment photos checked by the real face models (exactly one usable face)."""

import cv2
import numpy as np
import pytest

from invigilation.students.models import EnrolmentPhoto
from invigilation.students.services import import_photos
from invigilation.students.tasks import check_enrolment_photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def lfw(shared_data):
    images = sorted((shared_data / "lfw-dev" / "images").glob("*/*.jpg"))
    return [path.read_bytes() for path in images[:2]]


def test_a_photo_with_one_face_is_accepted_with_its_embedding(students, lfw):
    report = import_photos(uploads=[("S001.jpg", lfw[0])])
    assert report.failed_count == 0, report.failed
    photo = EnrolmentPhoto.objects.get()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.PENDING
    check_enrolment_photo(photo.pk)  # the worker's task, run here
    photo.refresh_from_db()
    assert photo.face_check == EnrolmentPhoto.FaceCheck.ACCEPTED
    embedding = np.frombuffer(bytes(photo.embedding), np.float32)
    assert embedding.shape == (128,) and np.isfinite(embedding).all()


def test_photos_without_exactly_one_face_are_refused_with_the_reason(students, lfw):
    blank = cv2.imencode(".jpg", np.full((300, 300, 3), 128, np.uint8))[1].tobytes()
    pair = np.hstack([cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in lfw])
    two_faces = cv2.imencode(".jpg", pair)[1].tobytes()
    # Checked inline, as a command outside the web server may: the verdict is in the report.
    uploads = [("S001.jpg", blank), ("S002.jpg", two_faces)]
    report = import_photos(uploads=uploads, check_inline=True)
    messages = {o.source: o.message for o in report.outcomes if not o.ok}
    assert messages == {
        "S001.jpg": "S001: rejected: no face found",
        "S002.jpg": "S002: rejected: 2 faces found; the photo must show only the student",
    }
    # Kept with the reason for the admin to see; never used for identity checks.
    assert not EnrolmentPhoto.objects.usable().exists()
    assert set(EnrolmentPhoto.objects.values_list("face_check", flat=True)) == {"rejected"}
