"""One way to write a time, everywhere on the server: the site's time zone, 24 h by default.

The browser side is static/js/clock.js, which reads the same two settings from the page.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as django_format


def time_pattern() -> str:
    """Django's date-format pattern for a clock time: 13:10:09, or 1:10:09 PM with 12 h."""
    return "H:i:s" if settings.CLOCK_24H else "g:i:s A"


def minute_pattern() -> str:
    return "H:i" if settings.CLOCK_24H else "g:i A"


def datetime_pattern() -> str:
    return "D j M Y, " + minute_pattern()


def format_time(value: datetime | None) -> str:
    return django_format(timezone.localtime(value), time_pattern()) if value else ""


def format_datetime(value: datetime | None) -> str:
    return django_format(timezone.localtime(value), datetime_pattern()) if value else ""


def format_span(start: datetime, end: datetime) -> str:
    """An exam's time: "Tue 1 Dec 2026, 14:00–17:00" (the end's date only if it differs)."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    same_day = start.date() == end.date()
    end_text = django_format(end, minute_pattern() if same_day else datetime_pattern())
    return f"{format_datetime(start)}–{end_text}"
