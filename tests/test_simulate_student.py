"""`simulate_student` as a user runs it: check in (a burst, judged by the worker), stream a
real clip, press Finish."""

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_simulated_student_checks_in_streams_and_finishes(stack, shared_data, tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "simulate_student", f"--session={stack['token']}",
         "--video", str(shared_data / "video" / "d13.mp4"), "--server", stack["url"],
         "--max-frames", "3", "--finish"],
        cwd=ROOT, env=stack["env"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The identity check: a burst of the clip's first 3 s at 4 frames/s, then the verdict.
    assert lines[0] == "check-in burst sent: 12 frames"
    assert lines[1].startswith("checked in: no_reference (not checked)"), done.stdout
    assert lines[2] and "Identity checked" not in lines[2]
    assert "done: 3 frames sent, 0 refused" in lines
    assert lines[-1].startswith("finished at ")
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        status, finished_at = db.execute(
            "SELECT status, finished_at FROM exams_examsession WHERE id = ?", [stack["session"]]
        ).fetchone()
    assert status == "finished" and finished_at
    again = subprocess.run(
        [sys.executable, "manage.py", "simulate_student", f"--session={stack['token']}",
         "--video", str(shared_data / "video" / "d13.mp4"), "--server", stack["url"]],
        cwd=ROOT, env=stack["env"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode != 0 and "(409)" in again.stderr  # finished: no new check-in
