"""A real OTLP/HTTP metrics receiver on a free 127.0.0.1 port, for tests.

It accepts `POST /v1/metrics` (protobuf, gzip or not), decodes each
ExportMetricsServiceRequest with opentelemetry-proto, answers as a collector does, and keeps
every request: `.requests` (headers and raw body, to look for what must not be there) and
`.points()` (every data point, flattened). `status` makes it refuse (e.g. 401) instead.
Runs in a thread; a context manager.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

METRICS_PATH = "/v1/metrics"


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes  # as decompressed
    request: ExportMetricsServiceRequest | None = field(repr=False)  # None: refused


@dataclass(frozen=True)
class Point:
    """One data point as exported: a histogram's count, sum and buckets, or a gauge's value."""

    name: str
    unit: str
    kind: str  # histogram, gauge, sum
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope: str
    schema_url: str
    value: float | None = None
    count: int | None = None
    sum: float | None = None
    bounds: tuple[float, ...] = ()
    bucket_counts: tuple[int, ...] = field(default=())


def _value(any_value: AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _attributes(pairs: list[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def flatten(request: ExportMetricsServiceRequest) -> list[Point]:
    points: list[Point] = []
    for rm in request.resource_metrics:
        resource = _attributes(list(rm.resource.attributes))
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                common = {"name": metric.name, "unit": metric.unit, "kind": kind,
                          "resource": resource, "scope": sm.scope.name,
                          "schema_url": sm.schema_url}
                if kind == "histogram":
                    points += [Point(**common, attributes=_attributes(list(p.attributes)),
                                     count=p.count, sum=p.sum,
                                     bounds=tuple(p.explicit_bounds),
                                     bucket_counts=tuple(p.bucket_counts))
                               for p in metric.histogram.data_points]
                elif kind in ("gauge", "sum"):
                    for p in getattr(metric, kind).data_points:
                        number = p.as_double if p.WhichOneof("value") == "as_double" \
                            else p.as_int
                        points.append(Point(**common, attributes=_attributes(list(p.attributes)),
                                            value=number))
    return points


class OtlpReceiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status  # what to answer: 200 accepts, anything else refuses
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The base URL, as `telemetry.otlp.endpoint` (and OTEL_EXPORTER_OTLP_ENDPOINT) take it."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.request is not None]

    def points(self) -> list[Point]:
        """Every data point of every accepted export, oldest first."""
        return [p for r in self.accepted() for p in flatten(r.request)]  # type: ignore[arg-type]

    def last_export(self) -> list[Point]:
        """The points of the latest accepted export (cumulative: the totals so far)."""
        accepted = self.accepted()
        return flatten(accepted[-1].request) if accepted else []  # type: ignore[arg-type]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OtlpReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                body = gzip.decompress(raw) if encoding == "gzip" else (
                    zlib.decompress(raw) if encoding == "deflate" else raw)
                headers = {k.lower(): v for k, v in self.headers.items()}
                request: ExportMetricsServiceRequest | None = None
                status = receiver.status
                if self.path != METRICS_PATH:
                    status = 404
                elif status == 200:
                    request = ExportMetricsServiceRequest()
                    try:
                        request.ParseFromString(body)
                    except Exception:  # protobuf's DecodeError: not OTLP
                        request, status = None, 400
                with receiver._lock:
                    receiver.requests.append(Received(self.path, headers, body, request))
                answer = ExportMetricsServiceResponse().SerializeToString() \
                    if status == 200 else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests assert on what was received

        return Handler
