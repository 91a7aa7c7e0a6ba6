"""`{% load clock %}`: `{{ value|clock }}` (13:10:09) and `{{ value|clock_datetime }}`."""

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
