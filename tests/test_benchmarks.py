import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from invigilation.benchmarks.latency import _latencies
from invigilation.benchmarks.report import percentiles, table

ROOT = Path(__file__).resolve().parents[1]


def test_each_message_is_timed_from_the_post_that_carried_its_frame():
    sends = {7: [(100.0, 202), (101.0, 429), (102.0, 202), (103.0, 202)]}
    messages = [
        (102.30, 7, 102.01),  # frame received 10 ms after the POST at 102.0 started
        (101.50, 7, 101.02),  # refused POSTs carry no frame: timed from the one at 100.0
        (104.00, 8, 103.00),  # another session's message: no POST of that session to match
    ]
    latencies = _latencies(messages, sends, window=(100.0, 103.5))
    assert [round(ms) for ms in latencies] == [300, 1500]
    assert _latencies(messages, sends, window=(101.5, 103.5)) == [latencies[0]]


def test_percentiles_and_markdown_table():
    assert percentiles(range(1, 101)) == {"p50": 50.5, "p95": 95.05, "p99": 99.01}
    assert percentiles([])["p95"] != percentiles([])["p95"]  # NaN: nothing was measured
    text = table([{"a": 1.5, "b": None}], [("a", "A"), ("b", "B")])
    assert text == "| A | B |\n|---|---|\n| 1.5 | n/a |\n"


def test_stage_benchmark_runs_the_product_code(shared_data, redis_url, tmp_path):
    database = os.environ.get("DATABASE_URL", "")
    if database.startswith("postgres"):
        scratch = urlsplit(database)._replace(path="/invigilation_bench_test").geturl()
    else:
        scratch = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    own_redis_db = urlsplit(redis_url)._replace(path="/13").geturl()  # it is flushed
    run = subprocess.run(
        [sys.executable, "-m", "invigilation.benchmarks", "--database-url", scratch,
         "--redis-url", own_redis_db, "--out", str(tmp_path), "stages", "--frames", "4",
         "--video", str(shared_data / "video" / "d9.mp4")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "| **total per frame** |" in run.stdout
    [saved] = tmp_path.glob("stages-*.json")
    stages = {row["stage"]: row for row in json.loads(saved.read_text())["result"]["stages"]}
    assert stages["detect"]["frames_with_stage"] == 4 and stages["detect"]["mean_ms"] > 0
    assert stages["persist"]["mean_ms"] > 0 and stages["push"]["mean_ms"] > 0
    assert stages["embed"]["frames_with_stage"] >= 1  # identity on every 3rd frame


def test_refuses_a_scratch_database_not_named_for_benchmarks(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "invigilation.benchmarks", "--database-url",
         f"sqlite:///{tmp_path / 'invigilation.sqlite3'}", "stages", "--frames", "1",
         "--video", __file__],  # any file: the database is refused before the video is read
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1 and "must contain 'bench'" in run.stderr


def test_checkins_benchmark_table_reports_verdicts_and_streamers():
    from invigilation.benchmarks.checkins import _posts, markdown

    class Sender:
        sent = [(10.0, 202), (11.0, 202), (12.0, 503), (13.0, 202)]
        durations = [5.0, 7.0, 9.0, 11.0]

    during = _posts([Sender()], 11.0, 13.0)
    assert (during["posts"], during["errors"], during["codes"]) == (2, 1, {202: 1, 503: 1})
    result = {
        "check_ins": 2, "worker_processes": 1, "verdicts": 2, "verdict_p50_s": 1.5,
        "verdict_p95_s": 2.0, "verdict_max_s": 2.0, "upload_p50_ms": 30.0,
        "upload_p95_ms": 40.0, "check_in_errors": 0, "outcomes": {"verified": 2},
        "streamers": 1, "frames_before": _posts([Sender()], 0, 11.0), "frames_during": during,
    }  # fmt: skip
    text = markdown(result)
    assert "| 2 | 1 | 2 | 1.5 | 2 | 2 |" in text and "Outcomes: verified: 2" in text
    assert "| during the check-ins | 2 | 8 | 8.9 | 1 |" in text


def test_checkins_benchmark_runs_the_product_with_tiny_numbers(shared_data, redis_url, tmp_path):
    database = os.environ.get("DATABASE_URL", "")
    if database.startswith("postgres"):
        scratch = urlsplit(database)._replace(path="/invigilation_bench_checkins_test").geturl()
    else:
        scratch = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    own_redis_db = urlsplit(redis_url)._replace(path="/12").geturl()  # it is flushed
    run = subprocess.run(
        [sys.executable, "-m", "invigilation.benchmarks", "--database-url", scratch,
         "--redis-url", own_redis_db, "--out", str(tmp_path), "checkins", "--students", "2",
         "--streamers", "1", "--baseline", "2", "--concurrency", "1", "--json",
         "--genuine", str(shared_data / "video" / "d13.mp4")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout)
    assert result["check_ins"] == 2 and result["verdicts"] == 2, result
    assert result["check_in_errors"] == 0 and "error" not in result["outcomes"], result
    assert result["frames_during"]["errors"] == 0, result
    assert "POST to verdict p50 s" in run.stderr
