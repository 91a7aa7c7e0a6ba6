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

from invigilation.core.http import client_ip
from invigilation.core.ratelimit import Limiter, wait_text

# Failed attempts per client address and per username: guessing one account's password
# from many addresses, or many accounts' from one, both stop at the limit.
FAILED_LOGINS = Limiter("login", "LOGIN_RATE_LIMIT")


def login_identities(request: HttpRequest, username: object) -> list[str]:
    return [f"ip:{client_ip(request)}", f"user:{str(username).strip().casefold()[:150]}"]


def too_many_attempts(seconds: int) -> str:
    return f"Too many failed log-in attempts. Try again in {wait_text(seconds)}."


class RateLimitedLoginMixin:
    """Refuses to check the password once the address or the username has too many recent
    failures, saying so on the login page; counts each failure."""

    retry_after: int | None = None

    def clean(self) -> dict:
        identities = login_identities(self.request, self.data.get("username", ""))
        self.retry_after = FAILED_LOGINS.blocked(identities)
        if self.retry_after:
            raise forms.ValidationError(too_many_attempts(self.retry_after), code="rate_limited")
        try:
            return super().clean()
        except forms.ValidationError:
            FAILED_LOGINS.hit(identities)
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

    def post(self, request: Request, *args, **kwargs) -> Response:
        data = request.data if isinstance(request.data, Mapping) else {}
        identities = login_identities(request, data.get("username", ""))
        retry_after = FAILED_LOGINS.blocked(identities)
        if retry_after:
            raise Throttled(retry_after, detail=too_many_attempts(retry_after))
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            FAILED_LOGINS.hit(identities)
            raise
