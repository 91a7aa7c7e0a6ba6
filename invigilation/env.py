"""Typed readers for settings that come from the environment."""

import os
import re
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit


class EnvError(ValueError):
    """An environment variable is set to a value its setting cannot use."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise EnvError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise EnvError(f"{name} must be an integer, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


class Rate(NamedTuple):
    """At most `limit` events per window of `seconds`."""

    limit: int
    seconds: int


RATE_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def env_rate(name: str, default: str) -> Rate:
    """A rate written as events/window: '10/300s', '10/5m', '100/h' (no unit: seconds)."""
    raw = os.environ.get(name) or default
    match = re.fullmatch(r"(\d+)/(\d*)([smh]?)", re.sub(r"\s", "", raw.lower()))
    if match and (match[2] or match[3]):
        rate = Rate(int(match[1]), int(match[2] or 1) * RATE_UNITS[match[3]])
        if rate.limit > 0 and rate.seconds > 0:
            return rate
    raise EnvError(f"{name} must be a rate such as 10/300s, 10/5m or 100/h, got {raw!r}")


def env_url(name: str, default: str) -> str:
    """A site's root URL, http(s)://host[:port], with no trailing slash. No path: links are
    built as this plus the route, the same from a request and from a worker."""
    raw = (os.environ.get(name) or default).strip()
    url = urlsplit(raw)
    root_only = url.path in {"", "/"} and not (url.query or url.fragment)
    if url.scheme in {"http", "https"} and url.hostname and root_only:
        return raw.rstrip("/")
    raise EnvError(
        f"{name} must be http(s)://host[:port], e.g. https://exams.example.edu, got {raw!r}"
    )


class EmailSettings(NamedTuple):
    """Django's EMAIL_* settings."""

    backend: str
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    timeout: int = 30


CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
SMTP_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def env_email(name: str) -> EmailSettings:
    """Outgoing mail from a URL: smtp://user:pass@host:587?tls=true (STARTTLS), or
    smtps://user:pass@host (TLS from the start); ?timeout=<seconds> (30). Unset: mail is
    printed on the console. Escape special characters in the password (%40 for @)."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return EmailSettings(CONSOLE_EMAIL_BACKEND)
    try:
        url = urlsplit(raw)
        port = url.port
        options = {key: values[-1] for key, values in parse_qs(url.query).items()}
        use_tls = _url_flag(options.pop("tls", "false"))
        timeout = int(options.pop("timeout", "30"))
    except ValueError as exc:
        raise EnvError(f"{name}: {exc} (in {_without_password(raw)!r})") from exc
    if problem := _email_url_problem(url.scheme, url.hostname, options, use_tls, timeout):
        raise EnvError(f"{name}: {problem}, e.g. smtp://user:pass@host:587?tls=true, "
                       f"got {_without_password(raw)!r}")  # fmt: skip
    ssl = url.scheme == "smtps"
    return EmailSettings(
        backend=SMTP_EMAIL_BACKEND,
        host=url.hostname,
        port=port or (465 if ssl else 587 if use_tls else 25),
        user=unquote(url.username or ""),
        password=unquote(url.password or ""),
        use_tls=use_tls,
        use_ssl=ssl,
        timeout=timeout,
    )


def _email_url_problem(
    scheme: str, host: str | None, options: dict, use_tls: bool, timeout: int
) -> str:
    if scheme not in {"smtp", "smtps"}:
        return "the scheme must be smtp or smtps"
    if not host:
        return "no host"
    if options:
        return f"unknown option(s) {', '.join(sorted(options))}"
    if scheme == "smtps" and use_tls:
        return "smtps already uses TLS: drop ?tls=true"
    if timeout <= 0:
        return "timeout must be positive"
    return ""


def _url_flag(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _without_password(raw: str) -> str:
    """The URL for an error message: a password never reaches the logs."""
    return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1:***@", raw)
