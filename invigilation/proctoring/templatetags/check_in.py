"""The check-in burst's settings, for the capture page's data attributes."""

from django import template
from django.conf import settings

register = template.Library()

NAMES = (
    "CHECK_IN_BURST_SECONDS",
    "CHECK_IN_BURST_FPS",
    "CHECK_IN_BURST_MIN_FRAMES",
    "CHECK_IN_BURST_MAX_FRAMES",
    "CHECK_IN_POLL_TIMEOUT_SECONDS",
)


@register.simple_tag
def check_in_setting(name: str) -> object:
    """One of NAMES (nothing else of the settings reaches a student's page)."""
    if name not in NAMES:
        raise template.TemplateSyntaxError(f"{name} is not a check-in setting")
    return getattr(settings, name)
