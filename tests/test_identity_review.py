"""Identity flags are reviewed side by side: the snapshot beside the student's enrolment
reference photo, with the distance and the probability that the face is not the student."""

import io
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from helpers import jpeg
from pypdf import PdfReader

from invigilation.audit.models import AccessEvent
from invigilation.exams.services import check_in
from invigilation.proctoring.services import raise_flag
from invigilation.students.models import EnrolmentPhoto

pytestmark = pytest.mark.django_db

CALIBRATED = {"distance": 0.712, "p_impostor": 0.934, "frame": {"identity_distance": 0.7}}


def reference_photo(student) -> EnrolmentPhoto:
    """An accepted photo: one with a face embedding, as identity checks compare against."""
    photo = EnrolmentPhoto(student=student, extension="jpg", sha256="a" * 64, embedding=b"\0" * 512)
    photo.image.save("photo.jpg", ContentFile(jpeg((30, 160, 60))))
    return photo


@pytest.fixture
def ada(exam, sessions):
    check_in(session=sessions["S001"], verified=False, distance=0.7)
    return sessions["S001"]


def identity_flag(session, evidence: dict):
    return raise_flag(session=session, kind="identity_mismatch", severity=3, confidence=0.934,
                      evidence=evidence, snapshot=jpeg((200, 30, 30)))  # fmt: skip


def flag_html(client, url: str, flag) -> str:
    page = client.get(url).content.decode()
    return re.search(rf'<li[^>]*(?:id="flag-|data-flag-id="){flag.pk}".*?</li>', page, re.S).group()


@pytest.mark.parametrize("page", ["reports:review", "reports:exam"])
def test_the_snapshot_is_shown_beside_the_reference_photo(client, invigilator, exam, ada, page):
    photo = reference_photo(ada.student)
    flag = identity_flag(ada, CALIBRATED)
    client.force_login(invigilator)
    html = flag_html(client, reverse(page, args=[exam.pk]), flag)
    pair = re.search(r'class="identity-check".*?</div>', html, re.S).group()
    assert f'src="{reverse("flag-snapshot", args=[flag.pk])}"' in pair
    assert f'src="{reverse("students:photo", args=[photo.pk])}"' in pair
    assert "distance 0.71, probability not the student 0.93" in pair
    # Only the permission-checked, audit-logged view serves the photo, never its file.
    assert photo.image.name not in html and "/media/" not in html
    assert client.get(reverse("students:photo", args=[photo.pk])).status_code == 200
    assert AccessEvent.objects.filter(what="enrolment_photo", student=ada.student).exists()


def test_an_older_flag_falls_back_to_the_frame_distance(client, invigilator, exam, ada):
    reference_photo(ada.student)
    flag = identity_flag(ada, {"frame": {"identity_distance": 0.66}})
    client.force_login(invigilator)
    html = flag_html(client, reverse("reports:review", args=[exam.pk]), flag)
    assert "distance 0.66, probability not computed" in html


def test_without_a_reference_photo_identity_was_not_checked(client, invigilator, exam, ada):
    flag = identity_flag(ada, CALIBRATED)
    client.force_login(invigilator)
    for name in ("reports:review", "reports:exam"):
        html = flag_html(client, reverse(name, args=[exam.pk]), flag)
        assert "no reference photo: identity not checked" in html
        assert "enrolment photo of" not in html  # the alt text of a photo


def pdf_of(client, exam) -> PdfReader:
    return PdfReader(io.BytesIO(client.get(reverse("reports:pdf", args=[exam.pk])).content))


def images(reader: PdfReader) -> int:
    return sum(len(page.images) for page in reader.pages)


def text(reader: PdfReader) -> str:
    return " ".join(page.extract_text() for page in reader.pages)


def test_the_pdf_shows_both_pictures_with_the_measurements(client, invigilator, exam, ada):
    reference_photo(ada.student)
    flag = identity_flag(ada, CALIBRATED)
    client.force_login(invigilator)
    reader = pdf_of(client, exam)
    assert images(reader) == 3  # Ada's timeline, the snapshot and her reference photo
    flat = re.sub(r"\s+", " ", text(reader))
    assert f"(flag {flag.pk})" in flat and "enrolment photo" in flat
    assert "distance 0.71, probability not the student 0.93" in flat


def test_the_pdf_says_when_there_is_no_reference_photo(client, invigilator, exam, ada):
    identity_flag(ada, {"frame": {"identity_distance": 0.66}})
    client.force_login(invigilator)
    reader = pdf_of(client, exam)
    assert images(reader) == 2  # the timeline and the snapshot
    assert "no reference photo: identity not checked" in re.sub(r"\s+", " ", text(reader))
