"""`{% load clock %}`: `{{ value|clock }}` (13:10:09), `{{ value|clock_datetime }}` and
`{{ start|clock_span:end }}` (Tue 1 Dec 2026, 14:00–17:00)."""

from datetime import datetime

from django import template

from invigilation.core import clock as clock_format

register = template.Library()


@register.filter
def clock(value: datetime | None) -> str:
    return clock_format.format_time(value)


@register.filter
def clock_datetime(value: datetime | None) -> str:
    return clock_format.format_datetime(value)


@register.filter
def clock_span(start: datetime | None, end: datetime | None) -> str:
    return clock_format.format_span(start, end) if start and end else ""
