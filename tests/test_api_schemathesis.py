"""The API keeps the promises of its own OpenAPI schema, for every kind of caller.

Schemathesis (the tool that found the 500s) generates requests from the live schema of the
running product, on the database CI uses (PostgreSQL there: some bad input only fails on
it), as an anonymous caller, a student (session token), an invigilator and an exam admin.
Any 5xx, undocumented status, wrong content type or body that breaks its schema fails.
Bounded: a fixed seed and a few hundred cases per role. Summary: var/schemathesis/.
"""

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
# Roles in this order: the exam admin, last, may delete what the others test.
ROLES = ("anonymous", "student", "invigilator", "exam admin")


def api_token(base: str, username: str, password: str) -> str:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(f"{base}/api/auth/token/", body, timeout=30) as response:
        return json.loads(response.read())["token"]


def fuzz(base: str, authorization: str | None, report: Path) -> dict:
    command = [
        str(SCHEMATHESIS), "run", f"{base}/api/schema/", "--checks", ",".join(CHECKS),
        "--phases", "examples,fuzzing", "--max-examples", "12", "--seed", "20261201",
        "--continue-on-failure", "--request-timeout", "60", "--warnings", "off",
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    if authorization:
        command += ["--header", f"Authorization: {authorization}"]
    run = subprocess.run(command, cwd=report.parent, capture_output=True, text=True, timeout=600)
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(report.read_text())
    result["output"] = run.stdout[-6000:]
    return result


def test_every_role_gets_what_the_schema_documents(stack_on_test_database):
    base = stack_on_test_database["url"]
    authorization = {
        "anonymous": None,
        "student": f"Session {stack_on_test_database['token']}",
        "invigilator": f"Token {api_token(base, 'watcher', 'pw-watch-1234')}",
        "exam admin": f"Token {api_token(base, 'boss', 'pw-boss-1234')}",
    }
    out = ROOT / "var" / "schemathesis"
    out.mkdir(parents=True, exist_ok=True)
    results = {
        role: fuzz(base, authorization[role], out / f"{role.replace(' ', '-')}.json")
        for role in ROLES
    }
    summary = {
        role: {"cases": r["test_cases"]["generated"], "failures": r["test_cases"]["with_failures"]}
        for role, r in results.items()
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    failing = {role: r["output"] for role, r in results.items() if r["exit_code"] != 0}
    assert not failing, "\n\n".join(f"== {role}\n{output}" for role, output in failing.items())
    assert all(s["cases"] >= 200 for s in summary.values()), summary
