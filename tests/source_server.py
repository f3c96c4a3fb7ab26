"""A real HTTP server on 127.0.0.1 serving status pages and price lists, good and broken.

Each path maps to a Route the test can change while the server runs (a source that starts
answering HTML, disappears, hangs). Routes answer conditional GETs with 304 when the
validators match, like the real sources.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import REAL_FIXTURES as REAL


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/json"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before answering (a source that hangs)
    chunked: bool = False  # no Content-Length: the size is only known by reading
    hits: int = 0
    conditional_hits: int = 0  # requests that carried a validator

    @classmethod
    def fixture(cls, name: str, **kw: object) -> Route:
        kind = "application/atom+xml" if name.endswith(".atom") else "application/json"
        return cls(body=(REAL / name).read_bytes(), content_type=kind, **kw)  # type: ignore[arg-type]


@dataclass
class SourceServer:
    routes: dict[str, Route] = field(default_factory=dict)

    def __post_init__(self) -> None:
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_GET(self) -> None:
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                route.hits += 1
                if_none_match = self.headers.get("If-None-Match")
                if_modified = self.headers.get("If-Modified-Since")
                if if_none_match or if_modified:
                    route.conditional_hits += 1
                if route.delay:
                    time.sleep(route.delay)
                if route.status == 200 and (
                        (route.etag and if_none_match == route.etag)
                        or (route.last_modified and if_modified == route.last_modified)):
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.last_modified:
                    self.send_header("Last-Modified", route.last_modified)
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(route.body), 65536):
                        piece = route.body[i:i + 65536]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
