"""Optional OpenTelemetry export: probe measurements under the GenAI semantic conventions'
names and factorwatch's own scores, over OTLP/HTTP (docs/metrics.md, OpenTelemetry).

Off unless the config sets `telemetry.otlp`. The SDK is the `otel` extra
(`pip install 'factorwatch[otel]'`): only otlp.py imports it, and only configured_telemetry
loads otlp.py, so a daemon without telemetry pays no import for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from service.config import Settings
from service.config.telemetry import HeadersError
from service.telemetry.metrics import OtlpMetrics

if TYPE_CHECKING:
    from service.telemetry.otlp import OtlpTelemetry

MISSING_EXTRA = ("telemetry.otlp is set, but the OpenTelemetry SDK is not installed: "
                 "pip install 'factorwatch[otel]' (or remove telemetry.otlp)")


class TelemetryError(RuntimeError):
    """Telemetry is configured but cannot run; the message says why and what to do."""


def configured_telemetry(settings: Settings, environ: Mapping[str, str],
                         read_rankings: Callable[[], list[dict[str, Any]]],
                         registry: CollectorRegistry, replica_id: str
                         ) -> OtlpTelemetry | None:
    """The OTLP exporter the config asks for, not yet started; None when it asks for none."""
    otlp = settings.telemetry.otlp
    if otlp is None:
        return None
    try:
        headers = otlp.resolve_headers(environ)
    except HeadersError as exc:
        raise TelemetryError(str(exc)) from None
    try:
        from service.telemetry.otlp import OtlpTelemetry
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("opentelemetry"):
            raise
        raise TelemetryError(MISSING_EXTRA) from exc
    return OtlpTelemetry(settings, headers, read_rankings, OtlpMetrics(registry), replica_id)
