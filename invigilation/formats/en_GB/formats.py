"""The admin's date and time formats, as the rest of the site writes them (core/clock.py)."""

from django.conf import settings

_CLOCK = "H:i" if settings.CLOCK_24H else "g:i A"
TIME_FORMAT = _CLOCK
DATETIME_FORMAT = f"j M Y, {_CLOCK}"
SHORT_DATETIME_FORMAT = f"d/m/Y {_CLOCK}"
