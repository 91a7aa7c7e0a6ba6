import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from invigilation.proctoring.models import FlagReview
from invigilation.proctoring.services import raise_flag

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag(sessions):
    return raise_flag(session=sessions["S001"], kind="looking_away", snapshot=b"\xff\xd8fake")


def review_url(flag) -> str:
    return reverse("flag-review", args=[flag.pk])


def test_an_invigilator_reviews_a_flag_of_their_exam_with_a_note(api_as, invigilator, flag):
    response = api_as(invigilator).post(
        review_url(flag), {"state": "dismissed", "note": "Reading the question aloud"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["review_state"] == "dismissed" and body["reviewed_by"] == invigilator.pk
    assert body["reviews"][0]["note"] == "Reading the question aloud"


def test_every_decision_stays_in_the_audit_trail(api_as, invigilator, exam_admin, flag):
    api_as(invigilator).post(review_url(flag), {"state": "escalated", "note": "Check later"})
    api_as(exam_admin).post(review_url(flag), {"state": "confirmed", "note": "Second person"})
    trail = list(FlagReview.objects.filter(flag=flag).values_list("state", "reviewer__username"))
    assert trail == [("escalated", "invig"), ("confirmed", "examadmin")]
    flag.refresh_from_db()
    assert flag.review_state == "confirmed"


@pytest.mark.parametrize(
    "body, status",
    [({"state": "dismissed", "note": "  "}, 400), ({"state": "open", "note": "x"}, 400),
     ({"state": "deleted", "note": "x"}, 400), ({"state": "confirmed"}, 400)],
)  # fmt: skip
def test_reviews_need_a_known_decision_and_a_note(api_as, invigilator, flag, body, status):
    assert api_as(invigilator).post(review_url(flag), body).status_code == status
    assert not FlagReview.objects.exists()


def test_an_invigilator_of_another_exam_cannot_review_or_see_it(api_as, other_invigilator, flag):
    client = api_as(other_invigilator)
    assert client.post(review_url(flag), {"state": "dismissed", "note": "x"}).status_code == 404
    assert client.get(reverse("flag-snapshot", args=[flag.pk])).status_code == 404


def test_student_tokens_cannot_review(flag, sessions):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {sessions['S001'].token}")
    response = client.post(review_url(flag), {"state": "dismissed", "note": "x"})
    assert response.status_code in (401, 403)


def test_snapshots_are_served_to_the_exams_staff(api_as, invigilator, flag):
    response = api_as(invigilator).get(reverse("flag-snapshot", args=[flag.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == b"\xff\xd8fake"
