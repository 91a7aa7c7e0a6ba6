"""The scenario evaluator: whole exams through the product's own check-in, analysis and rules."""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from invigilation import scenarios
from invigilation.scenarios import evaluation

SCENARIOS = Path(__file__).parent / "scenarios"
SHARED_PREFIX = "../../../shared/data/"


def localised(name: str, shared_data: Path, folder: Path) -> Path:
    """The repository's scenario with its data paths pointing at `shared_data`."""
    text = (SCENARIOS / name).read_text().replace(SHARED_PREFIX, f"{shared_data}/")
    path = folder / name
    path.write_text(text)
    return path


def evaluate(*paths: Path) -> dict:
    out = []

    class Stdout:
        def write(self, text: str) -> None:
            out.append(text)

    call_command("evaluate_scenarios", *map(str, paths), "--json", stdout=Stdout())
    return json.loads("".join(out))


def test_an_honest_exam_and_a_friend_sitting_for_the_student(shared_data, tmp_path):
    report = evaluate(
        localised("ci-honest.json", shared_data, tmp_path),
        localised("ci-swap.json", shared_data, tmp_path),
    )
    honest, swap = report["scenarios"]
    assert (honest["check_in"], honest["flags"]) == ("verified", [])
    assert swap["check_in"] == "verified"
    assert swap["missed"] == [] and swap["false_flags"] == []
    (caught,) = swap["matched"]
    assert caught["flag"]["kind"] == "identity_mismatch"
    assert caught["flag"]["matches"] == "student-b"
    assert 20 <= caught["flag"]["at"] <= 45
    summary = report["summary"]
    assert (summary["caught"], summary["expected_events"], summary["false_flags"]) == (1, 1, 0)
    assert summary["check_ins_right"] == 2


def test_a_bad_scenario_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"fps": 1, "timeline": []')
    with pytest.raises(CommandError, match="cannot read the scenario"):
        call_command("evaluate_scenarios", str(bad))
    bad.write_text(json.dumps({"fps": 1, "enrolment": ["missing.jpg"], "check_in": {},
                               "timeline": []}))  # fmt: skip
    with pytest.raises(CommandError, match="file not found: missing.jpg"):
        call_command("evaluate_scenarios", str(bad))
    with pytest.raises(CommandError, match="No scenario file"):
        call_command("evaluate_scenarios", str(tmp_path / "nowhere.json"))


def test_each_expectation_takes_one_flag_in_its_window():
    expect = [
        scenarios.Expectation("no_face", 60, 20),
        scenarios.Expectation("identity_mismatch", 120, 30, matches="student-b"),
    ]
    flags = [
        {"kind": "no_face", "at": 55.0},  # too early: false
        {"kind": "no_face", "at": 70.0},  # matches
        {"kind": "no_face", "at": 75.0},  # a second one for the same event: false
        {"kind": "identity_mismatch", "at": 130.0, "matches": "student-c"},  # the wrong name
    ]
    matched, missed, false_flags = evaluation.score(expect, flags)
    assert [m["flag"]["at"] for m in matched] == [70.0]
    assert missed == [{"kind": "identity_mismatch", "from": 120, "within": 30,
                       "matches": "student-b"}]  # fmt: skip
    assert [f["at"] for f in false_flags] == [55.0, 75.0, 130.0]


def test_clips_play_back_and_forth_and_frames_are_sent_as_the_browser_sends_them(shared_data):
    segment = {"video": shared_data / "video" / "d13.mp4", "seconds": 30.0}
    clip_seconds = scenarios.clip_seconds(segment["video"])
    at_end = scenarios.render(segment, clip_seconds - 0.5)
    mirrored = scenarios.render(segment, clip_seconds + 0.5)
    assert abs(at_end.astype(int) - mirrored.astype(int)).mean() < 3  # one frame apart
    times = [at for at, _ in scenarios.frames([segment, {"blank": "dark", "seconds": 2}], 2.0)]
    assert times == [i / 2 for i in range(64)]
    assert max(at_end.shape[:2]) == 640
