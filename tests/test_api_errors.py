"""The API's error answers: 401 with a challenge, filters that reveal nothing, a login limit
that locks nobody out, and a schema that documents every error it really gives."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from invigilation.env import Rate
from invigilation.proctoring.services import raise_flag

pytestmark = pytest.mark.django_db

STAFF_LISTS = ["exam-list", "student-list", "session-list", "flag-list", "access-event-list"]


@pytest.mark.parametrize("name", STAFF_LISTS)
def test_missing_or_bad_credentials_answer_401_with_a_challenge(name):
    for client in (APIClient(), APIClient(HTTP_AUTHORIZATION="Token not-a-token")):
        response = client.get(reverse(name))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"


def test_the_logged_in_but_not_allowed_still_get_403_and_pages_still_redirect(client, invigilator):
    client.force_login(invigilator)
    assert client.get(reverse("access-event-list")).status_code == 403
    client.logout()
    assert client.get(reverse("dashboard:home")).status_code == 302


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_id_filters_answer_alike_for_unseen_and_missing_ids(api_as, invigilator, sessions):
    theirs = sessions["S003"]  # the other exam's, which the invigilator may not see
    flag = raise_flag(session=theirs, kind="no_face", message="nobody")
    client = api_as(invigilator)
    for name, param, hidden in [("session-list", "exam", theirs.exam_id),
                                ("session-list", "student", theirs.student_id),
                                ("flag-list", "session", theirs.pk),
                                ("flag-list", "exam", theirs.exam_id),
                                ("flag-list", "after_id", flag.pk - 1)]:  # fmt: skip
        for value in (hidden, 999_999, 2**63 - 1):
            assert ids(client.get(reverse(name), {param: value})) == [], (name, param, value)
        assert client.get(reverse(name), {param: 2**63}).status_code == 400
    mine = sessions["S001"]
    assert ids(client.get(reverse("session-list"), {"student": mine.student_id})) == [mine.pk]


@pytest.fixture
def limit(settings):
    # A day's window: the counts cannot start again (a window ending) in the middle of a test.
    settings.LOGIN_RATE_LIMIT = Rate(3, 86_400)


def log_in(client, username: str, password: str, ip: str):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_wrong_passwords_from_elsewhere_do_not_lock_a_user_out(client, exam_admin, limit):
    for n in range(6):  # past the limit, from addresses that each fail once
        assert log_in(client, "examadmin", "wrong", ip=f"203.0.113.{n}").status_code == 200
    # The owner, from an address with no failures, logs in, on the page and for a token.
    assert log_in(client, "examadmin", "pw-admin-123", ip="192.0.2.7").status_code == 302
    login = {"username": "examadmin", "password": "pw-admin-123"}
    token = APIClient().post(reverse("api-token"), login, REMOTE_ADDR="192.0.2.8")
    assert token.status_code == 200 and "token" in token.json()
    # An address that has failed on the locked username is refused, even with the password.
    assert log_in(client, "examadmin", "pw-admin-123", ip="203.0.113.0").status_code == 429


# The schema documents each error the API answers, with the body it has.


@pytest.fixture
def schema(client) -> dict:
    return client.get(reverse("schema") + "?format=json").json()


def test_every_operation_documents_its_errors(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "503" in responses, (method, path)
            assert responses["503"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
            assert {"401", "403"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert {"400", "415"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    frames = schema["paths"]["/api/frames/"]["post"]["responses"]
    assert {"409", "413", "415", "422", "429"} <= set(frames)
    assert "429" in schema["paths"]["/api/auth/token/"]["post"]["responses"]
    assert "429" in schema["paths"]["/api/me/check-in/"]["post"]["responses"]
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail"]
    assert components["ValidationError"] == {"type": "object", "additionalProperties": True}


def test_the_errors_the_api_gives_are_the_documented_ones(
    schema, api_as, exam_admin, invigilator, other_exam
):
    admin, invig, anonymous = api_as(exam_admin), api_as(invigilator), APIClient()
    deep = b"[" * 1000 + b"]" * 1000
    cases = [
        (anonymous.get("/api/exams/"), "/api/exams/", "get", 401),
        (invig.get("/api/audit/"), "/api/audit/", "get", 403),
        (invig.get(f"/api/exams/{other_exam.pk}/"), "/api/exams/{id}/", "get", 404),
        (admin.get("/api/exams/?page=99"), "/api/exams/", "get", 404),
        (admin.get("/api/flags/?raised_after=soon"), "/api/flags/", "get", 400),
        (admin.post("/api/exams/", {}, format="json"), "/api/exams/", "post", 400),
        (admin.post("/api/exams/", "x", content_type="text/plain"), "/api/exams/", "post", 415),
        (anonymous.post("/api/auth/token/", deep, content_type="application/json"),
         "/api/auth/token/", "post", 400),
        (APIClient().post("/api/frames/", b"", content_type="image/jpeg"),
         "/api/frames/", "post", 401),
        (APIClient(HTTP_AUTHORIZATION="Token bad").post("/api/auth/token/"),
         "/api/auth/token/", "post", 401),
    ]  # fmt: skip
    for response, path, method, status in cases:
        assert response.status_code == status, (path, response.content)
        documented = schema["paths"][path][method]["responses"][str(status)]
        ref = documented["content"]["application/json"]["schema"]["$ref"]
        body = response.json()
        assert isinstance(body, dict)
        if ref.endswith("/Error"):
            assert isinstance(body["detail"], str), (path, body)


def test_an_api_url_that_matches_nothing_answers_json(api_as, exam_admin, client):
    response = api_as(exam_admin).get("/api/flags/-1.5e-45/review/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
