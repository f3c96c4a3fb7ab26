"""OpenTelemetry export over OTLP/HTTP (docs/metrics.md, OpenTelemetry): each probe result as
the GenAI client metrics, and the latest saved rankings as gauges read at each export.

This module imports the OpenTelemetry SDK (the `otel` extra): service/telemetry/__init__.py
loads it only when the config sets `telemetry.otlp`. The meter provider is the daemon's own,
never the process-wide global one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from service import __version__
from service.config import Settings
from service.config.telemetry import OtlpConfig
from service.scoring.states import STATES
from service.store.models import ProbeResultRow
from service.telemetry.genai import (
    ONE_REQUEST_KINDS,
    OPERATION_DURATION,
    SCHEMA_URL,
    SECONDS_BUCKETS,
    TIME_TO_FIRST_CHUNK,
    TOKEN_BUCKETS,
    TOKEN_USAGE,
    Operation,
    operations,
)
from service.telemetry.metrics import OtlpMetrics

log = logging.getLogger(__name__)

Rankings = list[dict[str, Any]]
# error.type when a failed row has no error class (it always has one: a safety net).
OTHER_ERROR = "_OTHER"


class _CountedExporter(OTLPMetricExporter):
    """The SDK's OTLP/HTTP exporter, counting its results in factorwatch_otlp_exports_total."""

    def __init__(self, counted: OtlpMetrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._counted = counted

    def export(self, metrics_data: MetricsData, timeout_millis: float | None = 10_000,
               **kwargs: Any) -> MetricExportResult:
        result = super().export(metrics_data, timeout_millis, **kwargs)
        ok = result is MetricExportResult.SUCCESS
        self._counted.exports.labels("ok" if ok else "failed").inc()
        return result


class _RankingSnapshot:
    """The latest saved rankings, read once per export for all the score gauges: the first
    gauge's callback reads them afresh (the SDK calls callbacks in the order the gauges were
    made), the others reuse that read unless it is older than `max_age`."""

    def __init__(self, read: Callable[[], Rankings], max_age: float = 1.0) -> None:
        self._read = read
        self._max_age = max_age
        self._lock = threading.Lock()
        self._rankings: Rankings = []
        self._read_at = float("-inf")

    def get(self, fresh: bool = False) -> Rankings:
        with self._lock:
            if fresh or time.monotonic() - self._read_at > self._max_age:
                try:
                    self._rankings = self._read()
                except Exception as exc:  # an export must go on when the database does not
                    log.warning("telemetry: cannot read rankings from the store: %s",
                                type(exc).__name__)
                    self._rankings = []
                self._read_at = time.monotonic()
            return self._rankings


def _entries(rankings: Rankings) -> Iterator[tuple[dict[str, str], dict[str, Any], dict[str, Any]]]:
    for doc in rankings:
        for entry in doc["ranking"]:
            key = {"factorwatch.workload": doc["workload"],
                   "factorwatch.candidate": entry["candidate"]}
            yield key, entry, doc


class _ScoreGauges:
    """The callbacks of the score gauges, each reading the same snapshot."""

    def __init__(self, snapshot: _RankingSnapshot) -> None:
        self._snapshot = snapshot

    def composite(self, _options: CallbackOptions) -> Iterable[Observation]:
        """The first gauge made: its callback reads the rankings of this export."""
        return [Observation(entry["composite"], key)
                for key, entry, _ in _entries(self._snapshot.get(fresh=True))
                if entry["composite"] is not None]

    def factor(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(f["score"], {**key, "factorwatch.factor": name})
                for key, entry, _ in _entries(self._snapshot.get())
                for name, f in sorted(entry["factors"].items()) if f["score"] is not None]

    def rank(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(entry["rank"], key)
                for key, entry, _ in _entries(self._snapshot.get()) if entry["rank"] is not None]

    def top_choice(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(1 if entry["candidate"] == doc.get("top_choice") else 0, key)
                for key, entry, doc in _entries(self._snapshot.get())]

    def state(self, _options: CallbackOptions) -> Iterable[Observation]:
        now: dict[str, str] = {}  # a candidate's state is the same in every workload
        for _, entry, _ in _entries(self._snapshot.get()):
            now.setdefault(entry["candidate"], entry.get("state") or "unknown")
        return [Observation(1 if name == state else 0,
                            {"factorwatch.candidate": cid, "factorwatch.state": name})
                for cid, state in sorted(now.items()) for name in STATES]


class OtlpTelemetry:
    """Records probe results into the GenAI instruments and exports them, with the scores,
    every `telemetry.otlp.every`. start() begins exporting; shutdown() exports what is left."""

    def __init__(self, settings: Settings, headers: Mapping[str, str],
                 read_rankings: Callable[[], Rankings], metrics: OtlpMetrics,
                 replica_id: str) -> None:
        assert settings.telemetry.otlp is not None, "built only when telemetry.otlp is set"
        self.config: OtlpConfig = settings.telemetry.otlp
        self._headers = dict(headers)  # secrets: never logged
        self._operations: dict[str, Operation] = operations(settings.candidates)
        self._scores = _ScoreGauges(_RankingSnapshot(read_rankings))
        self._metrics = metrics
        self._resource = Resource.create({"service.name": "factorwatch",
                                          "service.version": __version__,
                                          "service.instance.id": replica_id})
        self._provider: MeterProvider | None = None

    def start(self, reader: MetricReader | None = None) -> None:
        """Create the instruments and start exporting (`reader`: another reader, for tests)."""
        if reader is None:
            exporter = _CountedExporter(self._metrics, endpoint=self.config.metrics_url,
                                        headers=self._headers, timeout=self.config.timeout)
            reader = PeriodicExportingMetricReader(
                exporter, export_interval_millis=self.config.every * 1000,
                export_timeout_millis=self.config.timeout * 1000)
        self._provider = MeterProvider(metric_readers=[reader], resource=self._resource,
                                       shutdown_on_exit=False)
        meter = self._provider.get_meter("factorwatch", __version__, schema_url=SCHEMA_URL)
        self._duration = meter.create_histogram(
            OPERATION_DURATION, unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS)
        self._first_chunk = meter.create_histogram(
            TIME_TO_FIRST_CHUNK, unit="s",
            description="Time to receive the first chunk, measured from when the client "
                        "issues the generation request to when the first chunk is received in "
                        "the response stream.",
            explicit_bucket_boundaries_advisory=SECONDS_BUCKETS)
        self._tokens = meter.create_histogram(
            TOKEN_USAGE, unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS)
        scores = self._scores
        meter.create_observable_gauge(
            "factorwatch.composite_score", [scores.composite], unit="{score}",
            description="Weighted mean of the factor scores (1-5) in the latest ranking.")
        meter.create_observable_gauge(
            "factorwatch.factor_score", [scores.factor], unit="{score}",
            description="Factor score (1-5) in the latest ranking.")
        meter.create_observable_gauge(
            "factorwatch.rank", [scores.rank], unit="{rank}",
            description="Rank in the workload (1 = first); absent for gated candidates.")
        meter.create_observable_gauge(
            "factorwatch.top_choice", [scores.top_choice], unit="1",
            description="1 for the workload's announced top choice, else 0.")
        meter.create_observable_gauge(
            "factorwatch.candidate.state", [scores.state], unit="1",
            description="1 for the candidate's state now, 0 for the others.")
        log.info("telemetry: exporting OpenTelemetry metrics to %s every %gs",
                 self.config.metrics_url, self.config.every)

    def record(self, row: ProbeResultRow) -> None:
        """One probe result: its duration (with error.type when it failed), its time to
        first chunk and the token usage its API reported."""
        operation = self._operations.get(row.candidate_id)
        if self._provider is None or operation is None or row.kind not in ONE_REQUEST_KINDS:
            return
        attributes = {**operation.attributes, "factorwatch.probe.kind": row.kind,
                      "factorwatch.region": row.region}
        if row.total_seconds is not None:
            failed = {} if row.ok else {"error.type": row.error_class or OTHER_ERROR}
            self._duration.record(row.total_seconds, {**attributes, **failed})
        if row.ttft_seconds is not None:
            self._first_chunk.record(row.ttft_seconds, attributes)
        if row.input_tokens is not None:
            self._tokens.record(row.input_tokens, {**attributes, "gen_ai.token.type": "input"})
        # An estimate (the API reported no usage) is not reported: the conventions ask for
        # counts the system returns, or offline counting a user turned on.
        if row.output_tokens is not None and not row.output_tokens_estimated:
            self._tokens.record(row.output_tokens,
                                {**attributes, "gen_ai.token.type": "output"})

    def recording(self, write: Callable[[ProbeResultRow], None]
                  ) -> Callable[[ProbeResultRow], None]:
        """`write`, then record: what the probe pipeline hands each result to."""
        def write_and_record(row: ProbeResultRow) -> None:
            write(row)
            self.record(row)
        return write_and_record

    def shutdown(self) -> None:
        """Export what was recorded since the last export, then stop (blocking)."""
        if self._provider is not None:
            self._provider.shutdown(timeout_millis=self.config.timeout * 1000 + 5000)
            self._provider = None
