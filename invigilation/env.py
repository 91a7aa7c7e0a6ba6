"""Typed readers for settings that come from the environment."""

import os
import re
from typing import NamedTuple


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
