from django.conf import settings
from django.http import HttpRequest


def clock(request: HttpRequest) -> dict:
    """What static/js/clock.js needs to write times as the server does."""
    return {"SITE_TIME_ZONE": settings.TIME_ZONE, "CLOCK_24H": settings.CLOCK_24H}
