"""One time format on every page, export and the admin; the browser writes it the same way."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse

from invigilation.core.clock import format_datetime, format_span, format_time

ROOT = Path(__file__).resolve().parents[1]
INSTANT = datetime(2026, 12, 1, 13, 10, 9, tzinfo=UTC)


def test_the_server_writes_times_on_a_24_hour_clock_in_the_sites_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # +05:30
    assert format_time(INSTANT) == "18:40:09"
    assert format_datetime(INSTANT) == "Tue 1 Dec 2026, 18:40"
    rendered = Template("{% load clock %}{{ t|clock }} {{ t|clock_datetime }}")
    assert rendered.render(Context({"t": INSTANT})) == "18:40:09 Tue 1 Dec 2026, 18:40"
    settings.CLOCK_24H = False
    assert format_time(INSTANT) == "6:40:09 PM"


@pytest.mark.django_db
def test_the_admin_writes_times_as_the_pages_do(exam_admin, client, exam):
    exam.starts_at = INSTANT
    exam.save()
    client.force_login(exam_admin)
    page = client.get(reverse("admin:exams_exam_changelist")).content.decode()
    assert "1 Dec 2026, 13:10" in page
    assert "p.m." not in page


@pytest.mark.django_db
def test_pages_tell_the_browser_the_sites_clock(exam_admin, client, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    client.force_login(exam_admin)
    page = client.get(reverse("dashboard:home")).content.decode()
    assert 'data-time-zone="Asia/Kolkata" data-clock="24h"' in page
    assert "js/clock.js" in page


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
@pytest.mark.parametrize("clock, expected", [("24h", "18:40:09"), ("12h", "6:40:09 PM")])
def test_the_browser_writes_the_same_time_as_the_server(clock, expected):
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(timezone_id="America/New_York")  # not the site's zone
        page.set_content(f'<html data-time-zone="Asia/Kolkata" data-clock="{clock}"></html>')
        page.add_script_tag(path=str(ROOT / "static" / "js" / "clock.js"))
        written = page.evaluate(f"Clock.time('{INSTANT.isoformat()}')")
        browser.close()
    assert written == expected


def test_an_exams_time_is_written_as_one_span(settings):
    start = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
    assert format_span(start, start.replace(hour=17)) == "Tue 1 Dec 2026, 14:00–17:00"
    overnight = format_span(start.replace(hour=22), start.replace(day=2, hour=1))
    assert overnight == "Tue 1 Dec 2026, 22:00–Wed 2 Dec 2026, 01:00"
