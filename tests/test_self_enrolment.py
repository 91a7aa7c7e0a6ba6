"""Self-enrolment at check-in: the exam option, the student's check-in frame as an
unconfirmed reference photo, and the invigilator approving or rejecting it on the dashboard."""

from array import array
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from helpers import jpeg

from invigilation.audit.models import AccessEvent
from invigilation.dashboard import views as dashboard_views
from invigilation.exams.forms import ExamForm
from invigilation.exams.models import Exam
from invigilation.exams.services import check_in
from invigilation.proctoring.frame_processing import anchor_for
from invigilation.proctoring.models import CheckInAttempt
from invigilation.server.demo import ensure_demo_data
from invigilation.students.models import EnrolmentPhoto
from invigilation.students.selectors import reference_photos
from invigilation.students.services import (
    ReferenceRefused,
    add_photo,
    confirm_reference,
    reject_reference,
    self_enrol,
)

pytestmark = pytest.mark.django_db

EMBEDDING = array("f", [0.125] * 128).tobytes()


def no_models(image: bytes):
    raise AssertionError("self-enrolment must not run the face models again")


@pytest.fixture
def enrolled(exam, sessions, settings):
    settings.PHOTO_FACE_CHECKER = f"{__name__}.no_models"
    exam.self_enrol = True
    exam.save()
    session = sessions["S001"]
    check_in(session=session, verified=None, distance=None)
    photo = self_enrol(student=session.student, jpeg=jpeg(), embedding=EMBEDDING)
    return session, photo


def test_the_exam_options_default_to_no_self_enrolment_and_a_liveness_check(exam):
    assert (exam.self_enrol, exam.check_liveness) == (False, True)
    assert "check-in becomes their reference photo" in Exam._meta.get_field("self_enrol").help_text
    assert {"self_enrol", "check_liveness"} <= set(ExamForm.base_fields)


def test_the_exam_api_and_admin_show_both_options(api_as, exam_admin, exam, client):
    data = api_as(exam_admin).get(reverse("exam-detail", args=[exam.pk])).json()
    assert (data["self_enrol"], data["check_liveness"]) == (False, True)
    response = api_as(exam_admin).patch(
        reverse("exam-detail", args=[exam.pk]), {"self_enrol": True, "check_liveness": False},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    exam.refresh_from_db()
    assert (exam.self_enrol, exam.check_liveness) == (True, False)
    client.force_login(exam_admin)
    page = client.get(reverse("admin:exams_exam_change", args=[exam.pk])).content.decode()
    assert 'name="self_enrol"' in page and 'name="check_liveness"' in page
    assert "a photo held up to the camera is refused" in page


def test_the_demo_exam_self_enrols(tmp_path):
    ensure_demo_data(credentials_file=tmp_path / "credentials.txt")
    assert Exam.objects.get().self_enrol is True


def test_a_check_in_frame_becomes_an_unconfirmed_reference(enrolled):
    session, photo = enrolled
    assert photo.source == EnrolmentPhoto.Source.CHECK_IN
    assert photo.face_check == EnrolmentPhoto.FaceCheck.ACCEPTED and not photo.confirmed
    assert bytes(photo.embedding) == EMBEDDING and Path(photo.image.path).is_file()
    [ref] = reference_photos(student_ids=[session.student_id]).values()
    assert (ref.photo_id, ref.confirmed) == (photo.pk, False)
    # The same frame twice stores one photo.
    assert self_enrol(student=session.student, jpeg=jpeg(), embedding=EMBEDDING) == photo
    with pytest.raises(ValueError, match="float32"):
        self_enrol(student=session.student, jpeg=jpeg((1, 2, 3)), embedding=b"abc")


def test_an_uploaded_photo_is_confirmed_and_preferred(enrolled, settings):
    session, photo = enrolled
    settings.PHOTO_FACE_CHECKER = "none"
    uploaded = add_photo(student=session.student, data=jpeg((9, 9, 9)))
    assert uploaded.confirmed and uploaded.source == EnrolmentPhoto.Source.UPLOAD
    EnrolmentPhoto.objects.filter(pk=uploaded.pk).update(
        face_check="accepted", embedding=EMBEDDING
    )  # fmt: skip
    [ref] = reference_photos(student_ids=[session.student_id]).values()
    assert (ref.photo_id, ref.confirmed) == (uploaded.pk, True)


def test_confirming_and_rejecting_in_the_services(
    enrolled, invigilator, django_capture_on_commit_callbacks
):
    session, photo = enrolled
    with pytest.raises(ReferenceRefused, match="needs a note"):
        reject_reference(photo=photo, user=invigilator, note=" ")
    confirm_reference(photo=photo, user=invigilator)
    photo.refresh_from_db()
    assert photo.confirmed and photo.confirmed_by == invigilator
    with pytest.raises(ReferenceRefused, match="confirmed already"):
        reject_reference(photo=photo, user=invigilator, note="not them")
    other = self_enrol(student=session.student, jpeg=jpeg((5, 5, 5)), embedding=EMBEDDING)
    path = Path(other.image.path)
    with django_capture_on_commit_callbacks(execute=True):
        reject_reference(photo=other, user=invigilator, note="someone else")
    assert not EnrolmentPhoto.objects.filter(pk=other.pk).exists() and not path.exists()


def dashboard(client, exam) -> str:
    return client.get(reverse("dashboard:exam", args=[exam.pk])).content.decode()


def test_the_dashboard_shows_the_unconfirmed_photo_and_the_invigilator_approves_it(
    client, invigilator, exam, enrolled, monkeypatch, django_capture_on_commit_callbacks
):
    session, photo = enrolled
    client.force_login(invigilator)
    page = dashboard(client, exam)
    card = page[page.index(f'data-session="{session.pk}"') :]
    card = card[: card.index("</article>")]
    assert f'src="{reverse("students:photo", args=[photo.pk])}"' in card
    assert '<div class="reference-pending">' in card and "unconfirmed" in card
    url = reverse("dashboard:reference-decision", args=[exam.pk, session.pk])
    assert client.get(url).json() == {
        "session": session.pk,
        "awaiting_approval": {"id": photo.pk, "url": reverse("students:photo", args=[photo.pk])},
    }
    assert client.put(url).status_code == 405
    pushed = []
    monkeypatch.setattr(dashboard_views, "push_reference", lambda **kw: pushed.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"decision": "confirm"})
    assert response.status_code == 200 and response.json()["confirmed"] is True
    photo_url = reverse("students:photo", args=[photo.pk])
    assert pushed == [{"session": session, "photo_url": photo_url, "unconfirmed": False}]
    assert client.get(url).json()["awaiting_approval"] is None
    photo.refresh_from_db()
    assert photo.confirmed_by == invigilator
    event = AccessEvent.objects.get(what="enrolment_photo", student=session.student)
    assert "confirmed" in event.detail and event.exam == exam
    assert '<div class="reference-pending" hidden>' in dashboard(client, exam)
    assert client.post(url, {"decision": "confirm"}).status_code == 409  # nothing awaits


def test_rejecting_deletes_the_photo_and_needs_a_note(client, invigilator, exam, enrolled):
    session, photo = enrolled
    # The check-in that made the photo also anchored the session to the same face.
    CheckInAttempt.objects.create(
        session=session, attempted_at=timezone.now(), outcome="no_reference", message="m",
        anchor=b"\0" * 512,
    )  # fmt: skip
    client.force_login(invigilator)
    url = reverse("dashboard:reference-decision", args=[exam.pk, session.pk])
    response = client.post(url, {"decision": "reject", "note": ""})
    assert response.status_code == 400 and "note" in response.json()["detail"]
    assert client.post(url, {"decision": "maybe"}).status_code == 400
    response = client.post(url, {"decision": "reject", "note": "a friend, not Ada"})
    assert response.status_code == 200
    assert not EnrolmentPhoto.objects.filter(pk=photo.pk).exists()
    event = AccessEvent.objects.get(action="erased", student=session.student)
    assert "a friend, not Ada" in event.detail
    assert reference_photos(student_ids=[session.student_id]) == {}
    assert anchor_for(session) is None  # nor is the face the session's reference any more


def test_only_the_exams_invigilators_and_admins_decide(
    client, other_invigilator, exam_admin, exam, enrolled
):
    session, photo = enrolled
    url = reverse("dashboard:reference-decision", args=[exam.pk, session.pk])
    assert client.post(url, {"decision": "confirm"}).status_code == 302  # to the login page
    client.force_login(other_invigilator)
    assert client.post(url, {"decision": "confirm"}).status_code == 404
    assert client.get(url).status_code == 404
    assert client.put(url).status_code == 404
    photo.refresh_from_db()
    assert not photo.confirmed
    client.force_login(exam_admin)
    assert client.post(url, {"decision": "confirm"}).status_code == 200


def test_the_sessions_api_gives_each_reference_for_the_dashboards_catch_up(
    api_as, invigilator, exam, enrolled, django_assert_max_num_queries
):
    session, photo = enrolled
    client = api_as(invigilator)
    with django_assert_max_num_queries(12):  # one read of the references for the whole page
        results = client.get(reverse("session-list"), {"exam": exam.pk}).json()["results"]
    by_id = {row["id"]: row["reference"] for row in results}
    assert by_id[session.pk] == {
        "photo": photo.pk, "photo_url": reverse("students:photo", args=[photo.pk]),
        "confirmed": False, "source": "check_in",
    }  # fmt: skip
    assert [ref for pk, ref in by_id.items() if pk != session.pk] == [None]  # S002: no photo
    detail = client.get(reverse("session-detail", args=[session.pk])).json()
    assert detail["reference"]["confirmed"] is False
