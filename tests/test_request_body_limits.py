"""Request body limits and slow-client timeouts, against the real server (`manage.py run`).

Raw sockets: what matters is what the server answers before a body is sent, and when it
hangs up, which an HTTP client library would hide.
"""

import json
import select
import socket
import time
import urllib.parse
import urllib.request

import pytest

from invigilation.benchmarks.latency import login_cookie

MIB = 1024 * 1024


@pytest.fixture
def server(request, monkeypatch):
    """The product with short timeouts, so slow clients are cut off within the test."""
    for name in ("REQUEST_HEADER_TIMEOUT", "REQUEST_IDLE_TIMEOUT"):
        monkeypatch.setenv(name, "2")
    stack = request.getfixturevalue("stack")
    return {**stack, "port": int(stack["url"].rsplit(":", 1)[1])}


def connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server["port"]), timeout=10)


def head(path: str, length: int | None, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"Content-Length: {length}"] if length is not None else []
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of the response, read until the server closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def healthz_seconds(server) -> float:
    start = time.monotonic()
    with urllib.request.urlopen(server["url"] + "/healthz", timeout=5) as response:
        assert response.status == 200
    return time.monotonic() - start


def token_for(server, username: str, password: str) -> str:
    data = urllib.parse.urlencode({"username": username, "password": password}).encode()
    with urllib.request.urlopen(server["url"] + "/api/auth/token/", data, timeout=10) as response:
        return json.load(response)["token"]


def test_a_declared_oversized_body_is_refused_before_it_is_sent(server):
    with connect(server) as sock:
        sock.sendall(head("/api/students/upload-photos/", 100 * MIB,
                          Content_Type="multipart/form-data; boundary=x"))  # fmt: skip
        status, body = answer(sock)  # nothing of the 100 MB was sent
    assert status == 413
    assert "larger than this address accepts" in json.loads(body)["detail"]

    # A frame over FRAME_MAX_BYTES (1 MiB + room for a form), with a valid student token.
    with connect(server) as sock:
        sock.sendall(head("/api/frames/", 2 * MIB, Authorization=f"Session {server['token']}",
                          Content_Type="image/jpeg"))  # fmt: skip
        assert answer(sock)[0] == 413
    # A page (the login form) over REQUEST_MAX_BYTES answers in plain text.
    with connect(server) as sock:
        sock.sendall(head("/accounts/login/", 2 * MIB))
        status, body = answer(sock)
    assert (status, body.startswith(b"The request body is larger")) == (413, True)
    assert healthz_seconds(server) < 1


def test_a_body_without_a_length_is_cut_off_at_the_limit(server):
    sent = 0
    with connect(server) as sock:
        sock.sendall(head("/api/students/upload-photos/", None, Transfer_Encoding="chunked",
                          Content_Type="multipart/form-data; boundary=x"))  # fmt: skip
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
        while not select.select([sock], [], [], 0.005)[0]:
            sock.sendall(chunk)
            sent += 64 * 1024
            assert sent < 16 * MIB, "the server read 16 MiB of an anonymous upload"
        status, _ = answer(sock)
    assert status == 413
    assert MIB < sent < 4 * MIB  # the limit, plus what the sockets' buffers held


def test_staff_may_upload_more_than_the_general_limit(server):
    token = token_for(server, "boss", "pw-boss-1234")
    boundary = "limit-test"
    photo = b"\xff\xd8" + b"\0" * (3 * MIB)  # not a real image: the view rejects it, not 413
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="S42.jpg"'
            f"\r\nContent-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = head("/api/students/upload-photos/", len(body), Authorization=f"Token {token}",
                   Content_Type=f"multipart/form-data; boundary={boundary}")  # fmt: skip
    with connect(server) as sock:
        sock.sendall(request + body)
        sock.settimeout(60)
        first = sock.recv(65536)
    assert int(first.split()[1]) in {200, 400}, first[:300]
    # So may a staff user signed in to the admin (the upload pages take a session cookie).
    cookie = login_cookie(server["url"], "boss", "pw-boss-1234")
    with connect(server) as sock:
        sock.sendall(head("/admin/students/student/upload-photos/", len(body), Cookie=cookie,
                          Content_Type=f"multipart/form-data; boundary={boundary}"))  # fmt: skip
        # Past the limit: it waits for the body (and gives up on it), where it would refuse.
        assert answer(sock)[0] == 408
    # The same upload without the token is refused from its Content-Length.
    with connect(server) as sock:
        sock.sendall(head("/api/students/upload-photos/", len(body),
                          Content_Type=f"multipart/form-data; boundary={boundary}"))  # fmt: skip
        assert answer(sock)[0] == 413
    # A watcher's (invigilator's) token is not staff enough for the upload limit.
    watcher = token_for(server, "watcher", "pw-watch-1234")
    with connect(server) as sock:
        sock.sendall(head("/api/students/upload-photos/", len(body),
                          Authorization=f"Token {watcher}"))  # fmt: skip
        assert answer(sock)[0] == 413


def test_a_room_camera_may_send_a_4k_frame_and_bursts_their_size(server):
    """Past the general limit only with the route's own valid token (a camera's, a session's):
    the body is read and the view judges it (junk: 400 or 415), not refused as too large."""
    junk = b"\xff\xd8" + b"\0" * (2 * MIB)
    for path, credential in [("/api/cameras/frames/", f"Camera {server['camera_token']}"),
                             ("/api/me/check-in/", f"Session {server['token']}")]:  # fmt: skip
        with connect(server) as sock:
            sock.sendall(head(path, len(junk), Authorization=credential,
                              Content_Type="image/jpeg") + junk)  # fmt: skip
            sock.settimeout(60)
            assert answer(sock)[0] in {400, 415}, path
        scheme = credential.split()[0]
        with connect(server) as sock:
            sock.sendall(head(path, len(junk), Authorization=f"{scheme} not-a-token"))
            assert answer(sock)[0] == 413, path
    # An exam room's kiosk: a burst as large as a student's, for a signed-in invigilator.
    kiosk = f"/api/exams/{server['exam']}/kiosk/bursts/"
    cookie = login_cookie(server["url"], "watcher", "pw-watch-1234")
    with connect(server) as sock:
        sock.sendall(head(kiosk, len(junk), Cookie=cookie,
                          Content_Type="multipart/form-data; boundary=x") + junk)  # fmt: skip
        sock.settimeout(60)
        assert answer(sock)[0] in {400, 403}  # past the size check: CSRF or the form refuse it
    with connect(server) as sock:
        sock.sendall(head(kiosk, len(junk), Content_Type="multipart/form-data; boundary=x"))
        assert answer(sock)[0] == 413


def test_slow_and_silent_clients_are_disconnected(server):
    silent, dripping, stalled = connect(server), connect(server), connect(server)
    dripping.sendall(b"GET /healthz HTTP/1.1\r\n")
    stalled.sendall(head("/api/me/session/", 100, Content_Type="application/json") + b"{")
    start = time.monotonic()
    for _ in range(4):  # keeps dripping headers past the 2 s header timeout
        time.sleep(0.5)
        assert healthz_seconds(server) < 1  # the server answers others meanwhile
        try:
            dripping.sendall(b"X-Drip: 1\r\n")
        except OSError:
            break
    assert silent.recv(1) == b""  # closed, with nothing said
    assert time.monotonic() - start < 6
    assert dripping.recv(1) == b""
    status, body = answer(stalled)  # the body paused past REQUEST_IDLE_TIMEOUT
    assert status == 408
    assert "too slowly" in json.loads(body)["detail"]
    for sock in (silent, dripping, stalled):
        sock.close()
