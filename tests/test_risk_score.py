"""The per-student risk score: its formula, and the browser's copy of it agreeing with the
server's on the same flags (static/js/dashboard.js `Risk`, run in Chromium)."""

import json
import random
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import reverse

from invigilation.dashboard import risk
from invigilation.proctoring.models import Flag
from invigilation.proctoring.services import raise_flag, review_flag

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/lib/chromium/chromium")
STATES = ["open", "escalated", "confirmed", "dismissed"]


def flag(severity: int, confidence: float, review_state: str = "open") -> SimpleNamespace:
    return SimpleNamespace(severity=severity, confidence=confidence, review_state=review_state)


def test_a_certain_open_high_flag_outweighs_eight_certain_low_ones():
    assert risk.risk_score([flag(3, 1.0)]) == 9.0
    assert risk.risk_score([flag(1, 1.0)] * 8) == 8.0
    assert risk.risk_score([flag(2, 1.0)] * 3) == 9.0
    assert risk.risk_score([]) == 0.0


def test_confidence_scales_and_reviews_decay_the_score():
    assert risk.risk_score([flag(3, 0.5)]) == 4.5
    decayed = {state: risk.risk_score([flag(2, 1.0, state)]) for state in STATES}
    assert decayed == {"open": 3.0, "escalated": 3.0, "confirmed": 1.5, "dismissed": 0.0}


def test_bands_and_the_written_score():
    assert [risk.band(s) for s in (0.0, 0.5, 3.0, 8.99, 9.0)] == [
        "none", "low", "medium", "medium", "high"
    ]  # fmt: skip
    assert [risk.shown(s) for s in (0.0, 4.05, 0.25, 0.24, 12.349)] == [
        "0.0", "4.1", "0.3", "0.2", "12.3"
    ]  # fmt: skip


def random_cases(count: int, seed: int = 19) -> list[list[dict]]:
    rng = random.Random(seed)
    cases = [[{"severity": 3, "confidence": 0.9, "review_state": "confirmed"}]]  # 4.05
    for _ in range(count):
        cases.append([
            {"severity": rng.choice([1, 2, 3]),
             "confidence": rng.choice([0.0, 0.25, 0.5, 1.0, round(rng.random(), 3), rng.random()]),
             "review_state": rng.choice(STATES)}
            for _ in range(rng.randrange(0, 40))
        ])  # fmt: skip
    return cases


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_browser_computes_the_same_scores_bands_and_text_as_the_server():
    sync_api = pytest.importorskip("playwright.sync_api")
    cases = random_cases(500)
    # The weights as the page carries them (json_script): integer keys become strings.
    weights = json.loads(json.dumps(risk.weights()))
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.set_content("<!doctype html><title>risk</title>")
        page.add_script_tag(path=str(ROOT / "static" / "js" / "dashboard.js"))
        in_browser = page.evaluate(
            """([cases, weights]) => cases.map((flags) => {
                 const score = Risk.score(flags, weights);
                 return [score, Risk.band(score, weights), Risk.shown(score)];
               })""",
            [cases, weights],
        )
        browser.close()
    on_server = []
    for flags in cases:
        score = risk.risk_score(SimpleNamespace(**f) for f in flags)
        on_server.append([score, risk.band(score), risk.shown(score)])
    # Same operations in the same order on IEEE doubles: equal, not merely close.
    assert in_browser == on_server
    assert {band for _, band, _ in on_server} == {"none", "low", "medium", "high"}


@pytest.mark.django_db
def test_each_card_carries_the_score_of_its_students_flags(client, invigilator, exam, sessions):
    ada, alan = sessions["S001"], sessions["S002"]
    raise_flag(session=ada, kind="identity_mismatch", severity=3, confidence=0.9)
    raise_flag(session=ada, kind="looking_away", severity=1, confidence=0.4)
    dismissed = raise_flag(session=alan, kind="no_face", severity=2, confidence=1.0)
    review_flag(flag=dismissed, reviewer=invigilator, state="dismissed", note="lighting")
    raise_flag(session=alan, kind="expression", severity=1, confidence=0.7)
    client.force_login(invigilator)
    page = client.get(reverse("dashboard:exam", args=[exam.pk])).content.decode()
    for session in (ada, alan):
        card = re.search(rf'<article class="student (risk-\w+)" data-session="{session.pk}"'
                         r'.*?data-risk="([^"]+)".*?<span class="risk"[^>]*>([^<]+)<',
                         page, re.S)  # fmt: skip
        expected = risk.risk_score(Flag.objects.filter(session=session))
        assert float(card.group(2)) == expected
        assert card.group(1) == f"risk-{risk.band(expected)}"
        assert card.group(3) == risk.shown(expected)
    # Ada: 9 x 0.9 + 1 x 0.4; Alan: the dismissed flag counts nothing.
    assert risk.risk_score(Flag.objects.filter(session=ada)) == pytest.approx(8.5)
    assert risk.risk_score(Flag.objects.filter(session=alan)) == pytest.approx(0.7)
