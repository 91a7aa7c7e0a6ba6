"""Run whole-exam scenarios through the product's check-in, frame analysis and rules."""

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from invigilation import scenarios
from invigilation.exams.models import Exam
from invigilation.proctoring import frame_processing
from invigilation.scenarios import evaluation


class Command(BaseCommand):
    help = (
        "Run exam scenarios (JSON files, see ../shared/data/scenarios-dev/README.md) through "
        "the product's own check-in, frame analysis and rules on a simulated clock, and score "
        "the flags against the expected events."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path, help="scenario files or folders")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--jobs", type=int, default=1, help="scenarios run in parallel")
        parser.add_argument(
            "--check-in-sweep", action="store_true",
            help="also check in from every whole second of each genuine check-in clip",
        )  # fmt: skip

    def handle(
        self, *args, files: list[Path], json: bool, jobs: int, check_in_sweep: bool, **options
    ) -> None:
        paths = _scenario_files(files)
        try:
            loaded = [scenarios.load(path) for path in paths]
        except scenarios.ScenarioError as exc:
            raise CommandError(str(exc)) from exc
        results = _run(loaded, max(1, jobs))
        report = {"scenarios": results, "summary": evaluation.summary(results)}
        if check_in_sweep:
            report["check_in_sweep"] = evaluation.check_in_sweep(loaded, product_setup())
        if json:
            self.stdout.write(_dumps(report))
        else:
            self.stdout.write(_table(report))


def _scenario_files(files: list[Path]) -> list[Path]:
    paths = []
    for path in files:
        if path.is_dir():
            paths += sorted(path.glob("*.json"))
        elif path.is_file():
            paths.append(path)
        else:
            raise CommandError(f"No scenario file or folder at {path}.")
    if not paths:
        raise CommandError("No scenario files (*.json) found.")
    return paths


def product_setup() -> evaluation.Setup:
    """The worker's settings for an exam created with the product's defaults."""
    exam = Exam()

    def rules(fps: float):
        exam.sampling_fps = fps
        return frame_processing.session_rules(exam, None)

    return evaluation.Setup(
        rules=rules,
        checks=frame_processing.checks_for(exam),
        identity_every=settings.IDENTITY_CHECK_EVERY,
        identity_every_clear=settings.IDENTITY_CHECK_EVERY_CLEAR,
        burst_fps=settings.CHECK_IN_BURST_FPS,
        beat_seconds=settings.CELERY_BEAT_SCHEDULE["flag-stopped-streams"]["schedule"],
        check_liveness=exam.check_liveness,
    )


def _evaluate(scenario: scenarios.Scenario) -> dict:
    return evaluation.evaluate(scenario, product_setup())


def _run(loaded: list[scenarios.Scenario], jobs: int) -> list[dict]:
    progress = tqdm(total=len(loaded), desc="scenarios", unit="scenario", file=sys.stderr)
    if jobs == 1:
        results = []
        for scenario in loaded:
            progress.set_postfix_str(scenario.name)
            results.append(_evaluate(scenario))
            progress.update()
        return results
    with ProcessPoolExecutor(jobs) as pool:
        results = []
        for result in pool.map(_evaluate, loaded):
            results.append(result)
            progress.update()
    return results


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=1, default=float)


def _table(report: dict) -> str:
    lines = [f"{'scenario':28} {'check-in':16} {'caught':>7} {'missed':>7} {'false':>6}  flags"]
    for r in report["scenarios"]:
        mark = "" if r["check_in_ok"] else " (!)"
        flags = ", ".join(f"{f['kind']}@{f['at']:.0f}s" for f in r["flags"]) or "-"
        lines.append(
            f"{r['name'][:28]:28} {r['check_in'] + mark:16} {len(r['matched']):>7} "
            f"{len(r['missed']):>7} {len(r['false_flags']):>6}  {flags}"
        )
    s = report["summary"]
    lines.append(
        f"\n{s['caught']}/{s['expected_events']} expected events caught; {s['false_flags']} "
        f"false flags in {s['student_hours']} student-hours; honest scenarios: "
        f"{s['honest_false_flags']} false flags in {s['honest_student_hours']} h "
        f"({s['honest_false_flags_per_10_hours']} per 10 h); check-ins right "
        f"{s['check_ins_right']}/{s['check_ins']}"
    )
    sweep = report.get("check_in_sweep")
    if sweep:
        lines.append(f"genuine check-ins from every second of the clips: {sweep['verified']}/"
                     f"{sweep['check_ins']} verified")  # fmt: skip
    return "\n".join(lines)
