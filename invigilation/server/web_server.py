"""The HTTP/WebSocket server: uvicorn, with limits on how long and how much a client may send.

`python -m invigilation.server.web_server --host 0.0.0.0 --port 8000` (the run command, the
Docker image). Uvicorn, not Daphne: Daphne (Twisted) reads a whole request body before the
application sees the request, so no limit can refuse it early; uvicorn hands the body over
chunk by chunk (see invigilation/server/body_limits.py). What uvicorn itself does not bound
(time and size of a request's headers) is bounded here.
"""

import argparse
import asyncio
import os

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 64 * 1024  # request line and headers of one request


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Closes a connection whose request headers are not complete within
    REQUEST_HEADER_TIMEOUT seconds (slow drip, or connected and silent) or exceed
    MAX_HEADER_BYTES: uvicorn's own parser would wait, and buffer, forever."""

    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value))
        super().on_header(name, value)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_headers()

    def on_headers_complete(self) -> None:
        self._cancel_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        from django.conf import settings

        self._cancel_timer()
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(settings.REQUEST_HEADER_TIMEOUT, self._give_up)

    def _cancel_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            self._give_up()

    def _give_up(self) -> None:
        self._cancel_timer()
        self.transport.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m invigilation.server.web_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "invigilation.settings")
    from django.conf import settings

    level = os.environ.get("LOG_LEVEL", "INFO").lower()
    uvicorn.run(
        "invigilation.asgi:application",
        host=args.host,
        port=args.port,
        http=GuardedHttpToolsProtocol,
        ws="websockets-sansio",
        ws_max_size=settings.REQUEST_MAX_BYTES,
        lifespan="off",  # Django has no lifespan handlers
        # Client addresses come from the socket; settings.BEHIND_TLS_PROXY decides what
        # X-Forwarded-* is trusted, as it did under Daphne.
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=5,
        log_level=level,
        access_log=level in {"info", "debug"},  # a line per request (every frame) only then
    )


if __name__ == "__main__":
    main()
