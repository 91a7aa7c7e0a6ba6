"""The web process never loads torch, dlib, OpenCV or the face models: the check-in burst,
the system check and webcam frames are judged on Celery workers.

(a) A fresh interpreter sets Django up, imports the ASGI application, every URL conf and
every view, and the tasks the web side queues: none of the heavy modules is imported.
(b) The product running for real (`manage.py run`): after a check-in burst, a system check
and a frame have gone through, the web server's memory maps hold no torch or dlib library,
while the worker's do (so the check can see them). Enrolment-photo upload is left out: it
still runs the face check in the web process (being moved to a worker separately).
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from invigilation.benchmarks.scenario import webcam_jpegs
from invigilation.proctoring.management.commands.simulate_student import multipart_burst

ROOT = Path(__file__).resolve().parents[1]
HEAVY_MODULES = ("torch", "dlib", "cv2", "invigilation.vision", "face_recognition_models")
# Shared libraries of the face models, as they appear in /proc/<pid>/maps.
HEAVY_LIBRARIES = ("torch", "libc10", "dlib", "cv2", "opencv")

IMPORT_EVERYTHING_THE_WEB_DOES = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "invigilation.settings")
import django
django.setup()
from django.urls import URLPattern, URLResolver, get_resolver
from invigilation.asgi import application  # noqa: F401 - HTTP and WebSocket routing
import invigilation.proctoring.tasks  # queued by name from the views

views = 0
def walk(resolver):
    global views
    for entry in resolver.url_patterns:  # imports each URL conf
        if isinstance(entry, URLResolver):
            walk(entry)
        else:
            assert isinstance(entry, URLPattern)
            assert callable(entry.callback)  # resolves the view
            views += 1
walk(get_resolver())
from invigilation.routing import websocket_urlpatterns
for route in websocket_urlpatterns:
    assert callable(route.callback)
heavy = json.loads(sys.argv[1])
print(json.dumps({"views": views, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_the_web_side_imports_no_face_models():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING_THE_WEB_DOES, json.dumps(HEAVY_MODULES)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["views"] > 50
    assert result["loaded"] == [], f"the web side imported {result['loaded']}"


def _request(base: str, token: str, path: str, body=None, content_type=None):
    headers = {"Authorization": f"Session {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(base + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _done(base: str, token: str, poll: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = _request(base, token, poll)
        assert status == 200, body
        if body["status"] == "done":
            return body
        time.sleep(0.5)
    raise AssertionError(f"no result at {poll} within {timeout} s")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def heavy_libraries(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    paths = {line.split()[-1] for line in maps if len(line.split()) >= 6}
    return {p for p in paths if any(name in Path(p).name.lower() for name in HEAVY_LIBRARIES)}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_the_running_web_server_never_maps_torch_or_dlib(stack, shared_data):
    base, token = stack["url"], stack["token"]
    jpegs = webcam_jpegs(shared_data / "video" / "d9.mp4", limit=90)[::7][:12]
    body, content_type = multipart_burst(jpegs, [250 * i for i in range(len(jpegs))])
    status, accepted = _request(base, token, "/api/me/check-in/", body, content_type)
    assert status == 202, accepted
    verdict = _done(base, token, accepted["poll"])
    assert verdict["outcome"] != "error", verdict
    status, accepted = _request(base, token, "/api/me/system-check/", jpegs[0], "image/jpeg")
    assert status == 202, accepted
    assert _done(base, token, accepted["poll"])["faces"] == 1
    status, _ = _request(base, token, "/api/frames/", jpegs[1], "image/jpeg")
    assert status in (202, 409)  # 409 only if the verdict did not check the student in
    time.sleep(1)  # the frame's analysis, on the worker

    processes = {pid: cmdline(pid) for pid in descendants(stack["pid"])}
    [web] = [pid for pid, line in processes.items() if "invigilation.server.web_server" in line]
    assert heavy_libraries(web) == set(), f"the web server mapped {heavy_libraries(web)}"
    # The check can see them: the worker's pool processes have the models loaded.
    workers = [pid for pid, line in processes.items() if "celery" in line]
    assert any(any("torch" in p for p in heavy_libraries(pid)) for pid in workers), processes
