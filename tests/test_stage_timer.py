import time

from invigilation.vision.timing import StageTimer


def test_nested_stages_are_counted_once():
    timer = StageTimer()
    with timer.stage("outer"):
        time.sleep(0.02)
        with timer.stage("inner"):
            time.sleep(0.03)
    assert 25 <= timer.ms["inner"] < 200
    assert 15 <= timer.ms["outer"] < timer.ms["inner"]  # the inner 30 ms is not in it


def test_a_repeated_stage_accumulates_and_survives_errors():
    timer = StageTimer()
    for _ in range(2):
        try:
            with timer.stage("flag"):
                time.sleep(0.01)
                raise ValueError
        except ValueError:
            pass
    assert timer.ms["flag"] >= 18
