"""The staff pages show the newer identity evidence: a face that matches another student of
the exam (both enrolment photos beside the snapshot), liveness flags, and each check-in
attempt in the report."""

import io
import json
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from helpers import jpeg

from invigilation.audit.models import AccessEvent
from invigilation.exams.services import check_in
from invigilation.proctoring.models import CheckInAttempt
from invigilation.proctoring.services import raise_flag
from invigilation.students.models import EnrolmentPhoto

pytestmark = pytest.mark.django_db


def reference(student, colour) -> EnrolmentPhoto:
    photo = EnrolmentPhoto(student=student, extension="jpg", sha256=f"{colour}",
                           face_check="accepted", embedding=b"\0" * 512,
                           confirmed_at=timezone.now())  # fmt: skip
    photo.image.save("p.jpg", ContentFile(jpeg(colour)))
    return photo


@pytest.fixture
def friend_flag(sessions):
    ada, alan = sessions["S001"], sessions["S002"]
    check_in(session=ada, verified=False, distance=0.72)
    photos = reference(ada.student, (10, 200, 10)), reference(alan.student, (10, 10, 200))
    evidence = {
        "distance": 0.72, "p_impostor": 0.95, "anchor_distance": 0.18, "enrolment_distance": 0.72,
        "matches": {"session": alan.pk, "student_number": "S002", "name": "Alan Turing",
                    "distance": 0.41},
    }  # fmt: skip
    flag = raise_flag(
        session=ada, kind="identity_mismatch", severity=3, confidence=0.95, evidence=evidence,
        message="Face is not the enrolled student's; it matches S002 Alan Turing, who is "
        "enrolled in this exam", snapshot=jpeg((200, 10, 10)),
    )  # fmt: skip
    return flag, photos


@pytest.mark.parametrize("page", ["reports:review", "reports:exam"])
def test_a_roster_match_shows_both_enrolment_photos(client, invigilator, exam, friend_flag, page):
    flag, (own, theirs) = friend_flag
    client.force_login(invigilator)
    html = client.get(reverse(page, args=[exam.pk])).content.decode()
    block = re.search(r'class="identity-check roster-match">.*?</div>', html, re.S).group()
    for src in (reverse("flag-snapshot", args=[flag.pk]), reverse("students:photo", args=[own.pk]),
                reverse("students:photo", args=[theirs.pk])):  # fmt: skip
        assert f'src="{src}"' in block
    assert (
        "The face matches S002 Alan Turing, who is enrolled in this exam (distance 0.41)." in block
    )
    assert "to the enrolment photo 0.72, to the face verified at check-in 0.18" in block
    assert "{&#x27;session" not in html  # the match is not dumped as raw evidence


def test_the_live_feed_carries_the_match_for_the_page_to_show(
    client, invigilator, exam, friend_flag
):
    flag, _ = friend_flag
    client.force_login(invigilator)
    html = client.get(reverse("dashboard:exam", args=[exam.pk])).content.decode()
    alerts = json.loads(re.search(r'id="alerts-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    [alert] = [a for a in alerts if a["id"] == flag.pk]
    assert alert["evidence"]["matches"]["student_number"] == "S002"
    assert alert["evidence"]["anchor_distance"] == 0.18


def test_the_report_lists_every_check_in_attempt_with_its_snapshot(
    client, invigilator, other_invigilator, exam, sessions
):
    ada = sessions["S001"]
    now = timezone.now()
    attempts = []
    for i, (outcome, distance) in enumerate([("liveness_failed", None), ("verified", 0.38)]):
        attempt = CheckInAttempt(session=ada, attempted_at=now + timedelta(seconds=30 * i),
                                 outcome=outcome, message="m", distance=distance)  # fmt: skip
        if outcome == "verified":
            attempt.snapshot.save("s.jpg", ContentFile(jpeg((90, 90, 90))), save=False)
        attempt.save()
        attempts.append(attempt)
    check_in(session=ada, verified=True, distance=0.38)
    client.force_login(invigilator)
    html = client.get(reverse("reports:exam", args=[exam.pk])).content.decode()
    section = html[html.index('id="check-ins"') : html.index("<h2>Timelines")]
    assert section.index(f'id="check-in-{attempts[0].pk}"') < section.index(
        f'id="check-in-{attempts[1].pk}"'
    )
    assert "no live face" in section and "verified" in section and "0.38" in section
    snapshot = reverse("dashboard:check-in-snapshot", args=[exam.pk, attempts[1].pk])
    assert f'src="{snapshot}"' in section
    assert "S002" not in section  # Alan never tried
    response = client.get(snapshot)
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert AccessEvent.objects.filter(detail=f"check-in {attempts[1].pk} snapshot").exists()
    no_snapshot = reverse("dashboard:check-in-snapshot", args=[exam.pk, attempts[0].pk])
    assert client.get(no_snapshot).status_code == 404
    client.force_login(other_invigilator)
    assert client.get(snapshot).status_code == 404


def test_the_pdf_lists_every_check_in_attempt(client, invigilator, exam, sessions):
    from pypdf import PdfReader

    ada = sessions["S001"]
    CheckInAttempt.objects.create(
        session=ada, attempted_at=timezone.now(), outcome="liveness_failed",
        message="We could not see a live face. Attempts left: 2.",
    )  # fmt: skip
    check_in(session=ada, verified=None)
    client.force_login(invigilator)
    pdf = client.get(reverse("reports:pdf", args=[exam.pk])).content
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Identity checks at check-in" in text
    assert "No live face" in text and "Attempts left: 2." in text
