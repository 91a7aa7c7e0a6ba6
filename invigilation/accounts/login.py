"""Staff log-ins (the login pages and the API token) with a limit on failed attempts."""

from collections.abc import Callable, Mapping
from functools import wraps

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from invigilation.core.http import client_ip
from invigilation.core.ratelimit import Limiter, wait_text

# Failed attempts per client address and per username (see login_wait).
FAILED_LOGINS = Limiter("login", "LOGIN_RATE_LIMIT")


def login_identities(request: HttpRequest, username: object) -> list[str]:
    return [f"ip:{client_ip(request)}", f"user:{str(username).strip().casefold()[:150]}"]


def login_wait(request: HttpRequest, username: object) -> int | None:
    """Seconds before this address may try to log in again, or None when it may now.

    An address stops at the limit whatever usernames it tries. A username's failures stop
    only addresses that have failed themselves: guesses from many addresses still end at one
    each, but nobody can lock a user out by failing on purpose with their username.
    """
    by_address, by_username = FAILED_LOGINS.counts(login_identities(request, username))
    limit = FAILED_LOGINS.rate.limit
    if by_address >= limit or (by_username >= limit and by_address > 0):
        return FAILED_LOGINS.seconds_left()
    return None


def too_many_attempts(seconds: int) -> str:
    return f"Too many failed log-in attempts. Try again in {wait_text(seconds)}."


class RateLimitedLoginMixin:
    """Refuses to check the password while login_wait says so, saying so on the login page;
    counts each failure."""

    retry_after: int | None = None

    def clean(self) -> dict:
        username = self.data.get("username", "")
        self.retry_after = login_wait(self.request, username)
        if self.retry_after:
            raise forms.ValidationError(too_many_attempts(self.retry_after), code="rate_limited")
        try:
            return super().clean()
        except forms.ValidationError:
            FAILED_LOGINS.hit(login_identities(self.request, username))
            raise


class LoginForm(RateLimitedLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(RateLimitedLoginMixin, AdminAuthenticationForm):
    pass


def answers_429_when_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A login view whose form refused for too many failures answers 429 with Retry-After
    (the page still shows the form and the message)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        retry_after = getattr(form, "retry_after", None)
        if retry_after:
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response

    return wrapped


class ObtainAuthTokenView(ObtainAuthToken):
    """The API token for a username and password, under the same limit as the login pages."""

    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # DRF's own list has a plain JSONParser
    error_statuses = (429,)

    def post(self, request: Request, *args, **kwargs) -> Response:
        data = request.data if isinstance(request.data, Mapping) else {}
        username = data.get("username", "")
        retry_after = login_wait(request, username)
        if retry_after:
            raise Throttled(retry_after, detail=too_many_attempts(retry_after))
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            FAILED_LOGINS.hit(login_identities(request, username))
            raise
