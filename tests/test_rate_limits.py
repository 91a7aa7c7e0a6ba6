"""Rate limits in Redis on failed log-ins (pages and API token) and on identity check-ins."""

import pytest
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from invigilation.core.http import client_ip
from invigilation.core.ratelimit import wait_text
from invigilation.env import EnvError, Rate, env_rate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "raw, expected",
    [("10/300s", Rate(10, 300)), ("10/5m", Rate(10, 300)), ("100/h", Rate(100, 3600)),
     ("3 / 60", Rate(3, 60)), ("1/2H", Rate(1, 7200))],
)  # fmt: skip
def test_rates_are_read_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("X_RATE", raw)
    assert env_rate("X_RATE", "1/s") == expected


@pytest.mark.parametrize("raw", ["10", "10/", "0/60s", "10/0s", "ten/m", "10/5d", "-1/60"])
def test_bad_rates_say_which_variable(monkeypatch, raw):
    monkeypatch.setenv("X_RATE", raw)
    with pytest.raises(EnvError, match="X_RATE must be a rate"):
        env_rate("X_RATE", "1/s")


@pytest.mark.parametrize(
    "seconds, text", [(1, "1 second"), (45, "45 seconds"), (60, "1 minute"), (61, "2 minutes")]
)
def test_waits_are_said_in_words(seconds, text):
    assert wait_text(seconds) == text


@pytest.fixture
def limit(settings):
    settings.LOGIN_RATE_LIMIT = Rate(3, 300)


def login(client, path: str, username: str, password: str, ip: str = "127.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("page", ["login", "admin:login"])
def test_login_pages_refuse_after_too_many_failures(client, exam_admin, limit, page):
    path = reverse(page)
    for _ in range(3):
        response = login(client, path, "examadmin", "wrong")
        assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    # The fourth attempt is refused unchecked, even with the right password.
    response = login(client, path, "examadmin", "pw-admin-123")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300
    assert "Too many failed log-in attempts. Try again in " in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_the_limit_holds_per_address_and_per_username(client, exam_admin, invigilator, limit):
    path = reverse("login")
    for _ in range(3):
        login(client, path, "examadmin", "wrong", ip="192.0.2.1")
    # The same address is refused for any user.
    assert login(client, path, "invig", "pw-invig-123", ip="192.0.2.1").status_code == 429
    # Elsewhere the username gets one more try per address: wrong, and that address is refused.
    assert login(client, path, "EXAMADMIN", "wrong", ip="192.0.2.2").status_code == 200
    assert login(client, path, "EXAMADMIN", "pw-admin-123", ip="192.0.2.2").status_code == 429
    # Another user from another address logs in; successes are not counted.
    for _ in range(4):
        response = login(client, path, "invig", "pw-invig-123", ip="192.0.2.3")
        assert response.status_code == 302
    assert response.wsgi_request.user.username == "invig"


def test_the_api_token_endpoint_shares_the_limit(exam_admin, limit):
    api, url = APIClient(), reverse("api-token")
    assert "token" in api.post(url, {"username": "examadmin", "password": "pw-admin-123"}).json()
    for _ in range(3):
        assert api.post(url, {"username": "examadmin", "password": "no"}).status_code == 400
    response = api.post(url, {"username": "examadmin", "password": "pw-admin-123"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["detail"].startswith("Too many failed log-in attempts.")


@pytest.mark.parametrize("body", [["examadmin"], "just text", {"username": {"a": 1}}])
def test_odd_token_requests_are_answered_400(exam_admin, body):
    response = APIClient().post(reverse("api-token"), body, format="json")
    assert response.status_code == 400


def test_without_redis_logins_are_not_limited(client, exam_admin, limit, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    for _ in range(5):
        assert login(client, reverse("login"), "examadmin", "wrong").status_code == 200
    assert login(client, reverse("login"), "examadmin", "pw-admin-123").status_code == 302


def check_in(session, ip: str = "127.0.0.1"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {session.token}")
    return client.post(reverse("check-in"), b"", content_type="image/jpeg", REMOTE_ADDR=ip)


def test_check_ins_are_limited_per_session(sessions, settings):
    settings.CHECK_IN_RATE_LIMIT = Rate(2, 60)
    # Empty photos are refused, but each attempt counts all the same.
    assert [check_in(sessions["S001"]).status_code for _ in range(2)] == [400, 400]
    response = check_in(sessions["S001"])
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Too many identity checks. Try again in")
    assert check_in(sessions["S002"]).status_code == 400  # another student is not held up


def test_check_ins_are_limited_per_address(sessions, settings):
    settings.CHECK_IN_IP_RATE_LIMIT = Rate(2, 60)
    assert check_in(sessions["S001"], ip="198.51.100.1").status_code == 400
    assert check_in(sessions["S002"], ip="198.51.100.1").status_code == 400
    assert check_in(sessions["S002"], ip="198.51.100.1").status_code == 429
    assert check_in(sessions["S002"], ip="198.51.100.2").status_code == 400


def test_unknown_tokens_are_refused_before_counting(sessions, settings):
    settings.CHECK_IN_IP_RATE_LIMIT = Rate(1, 60)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Session not-a-token")
    for _ in range(3):
        assert client.post(reverse("check-in"), b"", content_type="image/jpeg").status_code == 401


@pytest.mark.parametrize(
    "behind_proxy, forwarded, expected",
    [(False, "203.0.113.9", "10.0.0.5"), (True, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
     (True, "", "10.0.0.5"), (True, "garbage", None)],
)  # fmt: skip
def test_the_client_address(settings, behind_proxy, forwarded, expected):
    settings.BEHIND_TLS_PROXY = behind_proxy
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", headers=headers)
    assert client_ip(request) == expected
