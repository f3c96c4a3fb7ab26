"""A scriptable HTTP receiver on a free 127.0.0.1 port: records every POST, answers as told.

For alert tests: `Receiver(always(200))`, `Receiver(sequence([(429, {"Retry-After": "1"}),
(200, {})]))`, `Receiver(failing_for(3.0, 500))`. Runs in a thread; `.url`, `.requests`,
`.stop()`. Also usable as a context manager.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str]]
Script = Callable[[int, float], Answer]  # (request index, seconds since start) -> answer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int  # what was answered

    def json(self) -> Any:
        return json.loads(self.body)


def always(status: int, headers: dict[str, str] | None = None) -> Script:
    return lambda _i, _t: (status, dict(headers or {}))


def sequence(answers: list[Answer], then: Answer = (200, {})) -> Script:
    return lambda i, _t: answers[i] if i < len(answers) else then


def failing_for(seconds: float, status: int = 500) -> Script:
    return lambda _i, t: (status, {}) if t < seconds else (200, {})


class Receiver:
    def __init__(self, script: Script, delay: float = 0.0, echo_path: bool = False) -> None:
        self.script = script
        self.delay = delay
        self.echo_path = echo_path  # answer errors with the path: as some servers do
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a test kills it): a real server never
                    # sees a request it did not receive whole, so neither is it recorded.
                    self.close_connection = True
                    return
                with receiver._lock:
                    index = len(receiver.requests)
                    status, headers = receiver.script(
                        index, time.monotonic() - receiver._started)
                    receiver.requests.append(Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                        time.monotonic(), status))
                if receiver.delay:
                    time.sleep(receiver.delay)
                payload = b"ok" if status < 300 else b"no"
                if receiver.echo_path and status >= 300:
                    payload = f"no such hook: {self.path}".encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
