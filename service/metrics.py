"""Prometheus exposition: the one place metric names live (docs/metrics.md lists them).

Probe measurements are live instruments updated as results arrive. Figures that live in
the database (scores, ranks, cost) are read by a collector at scrape time, so /metrics shows
what the store holds, including what another replica wrote. Labels are bounded: candidate,
provider, workload and factor ids come from the config, never from request data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from probes.result import ProbeResult
from service.scoring.states import STATES

if TYPE_CHECKING:
    from service.sla import OpsSnapshot

log = logging.getLogger(__name__)

TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)


class ProbeMetrics:
    """Instruments the probe runner and the writer update."""

    def __init__(self, registry: CollectorRegistry, version: str) -> None:
        # The *_created series double the series count and no dashboard reads them.
        # (A process-wide switch in client_python: it is set by whoever builds the metrics.)
        disable_created_metrics()
        labels = ["candidate", "provider", "region"]
        self.ttft = Histogram(
            "factorwatch_probe_ttft_seconds",
            "Time from the request starting to be sent to the first content token.",
            labels, buckets=TTFT_BUCKETS, registry=registry)
        self.duration = Histogram(
            "factorwatch_probe_duration_seconds",
            "End-to-end duration of successful probes, request start to last byte.",
            [*labels, "kind"], buckets=DURATION_BUCKETS, registry=registry)
        self.probes = Counter(
            "factorwatch_probe",
            "Probes run, by result: ok or the error class.",
            [*labels, "kind", "result"], registry=registry)
        self.output_speed = Gauge(
            "factorwatch_probe_output_tokens_per_second",
            "Output speed of the latest successful latency probe: (tokens - 1) / "
            "(last token time - first token time).", labels, registry=registry)
        self.probe_spend = Counter(
            "factorwatch_probe_spend_usd",
            "What probes cost: their reported usage at the candidate's price.",
            ["candidate", "provider"], registry=registry)
        self.budget_exhausted = Gauge(
            "factorwatch_probe_budget_exhausted",
            "1 while the candidate's probes are skipped because a daily probe budget "
            "(per candidate or in total) is spent, else 0.", ["candidate"], registry=registry)
        self.backoff = Gauge(
            "factorwatch_probe_backoff_seconds",
            "Seconds until the candidate is probed again, after a 429 with Retry-After "
            "(capped); 0 when it is not held back.", ["candidate"], registry=registry)
        self.backoff_skipped = Counter(
            "factorwatch_probe_backoff_skipped",
            "Scheduled probe runs skipped because the candidate's Retry-After had not yet "
            "passed; they are neither probes nor failures.", ["candidate", "kind"],
            registry=registry)
        self.reader_exits = Gauge(
            "factorwatch_probe_reader_exits",
            "Times since start the process that reads probe connections exited unasked; the "
            "probes it was reading were not recorded, and a new one took over.",
            registry=registry)
        self.writer_buffered = Gauge(
            "factorwatch_store_buffered_results",
            "Probe results waiting to be written to the database.", registry=registry)
        self.writer_buffer_limit = Gauge(
            "factorwatch_store_buffer_limit_results",
            "How many results may wait while the database is unreachable; past it the oldest "
            "are dropped.", registry=registry)
        self.writer_dropped = Gauge(
            "factorwatch_store_dropped_results",
            "Results dropped since start because the buffer was full (the database was "
            "unreachable too long).", registry=registry)
        self.pruned_results = Counter(
            "factorwatch_store_pruned_results",
            "Raw probe results deleted because they were older than retention.probe_results "
            "(by the leader's retention job).", registry=registry)
        self.pruned_rankings = Counter(
            "factorwatch_store_pruned_rankings",
            "Saved rankings deleted by the leader's retention job: thinned (not the first of "
            "their hour, older than retention.rankings_full) or expired (older than "
            "retention.rankings).", ["reason"], registry=registry)
        for reason in ("thinned", "expired"):  # at 0 from the start: increase() sees the 1st
            self.pruned_rankings.labels(reason)
        self.top_choice_changes = Counter(
            "factorwatch_top_choice_changes",
            "Announced changes of a workload's top choice (after hysteresis, or at once when "
            "the incumbent is gated out).", ["workload"], registry=registry)
        self.leader = Gauge(
            "factorwatch_leader",
            "1 on the replica that holds the scoring-and-alerting lease, else 0.",
            registry=registry)
        self.replicas = Gauge(
            "factorwatch_cluster_replicas",
            "Live replicas in this replica's region, sharing its probe work.", registry=registry)
        self.scoring_runs = Counter(
            "factorwatch_scoring_runs", "Scoring passes, by result.", ["result"],
            registry=registry)
        # Alerts (service/alerts/sender.py); `sink` is a configured sink name, never its URL.
        self.alerts_sent = Counter(
            "factorwatch_alerts_sent", "Alert messages sent to a sink, by result: ok, retry "
            "(a temporary failure: tried again later) or failed (permanent, or given up).",
            ["sink", "result"], registry=registry)
        self.alert_deliveries = Counter(
            "factorwatch_alert_deliveries", "Events routed to a sink, by outcome: pending (to "
            "be sent), silenced, expired, superseded (a newer event of the same subject "
            "replaced it).", ["sink", "outcome"], registry=registry)
        self.alerts_pending = Gauge(
            "factorwatch_alerts_pending", "Deliveries to a sink neither sent nor given up.",
            ["sink"], registry=registry)
        Info("factorwatch_build", "Build information.", registry=registry).info(
            {"version": version})

    def observe(self, candidate: str, provider: str, region: str, result: ProbeResult) -> None:
        outcome = "ok" if result.ok else str(result.error_class)
        self.probes.labels(candidate, provider, region, result.kind, outcome).inc()
        if not result.ok:
            return
        if result.ttft_seconds is not None:
            self.ttft.labels(candidate, provider, region).observe(result.ttft_seconds)
        if result.total_seconds is not None:
            self.duration.labels(candidate, provider, region, result.kind).observe(
                result.total_seconds)
        if result.output_tokens_per_second is not None:
            self.output_speed.labels(candidate, provider, region).set(
                result.output_tokens_per_second)


class StoreCollector(Collector):
    """Exports the latest stored ranking of every workload at scrape time."""

    def __init__(self, read_rankings: Callable[[], list[dict[str, Any]]],
                 committed_sla: dict[str, float]) -> None:
        self._read = read_rankings
        self._committed_sla = committed_sla

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # nothing at registration time: the database may not be there yet

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sla = GaugeMetricFamily("factorwatch_sla_committed_ratio",
                                "Availability the provider commits to in its published SLA.",
                                labels=["provider"])
        for provider, ratio in sorted(self._committed_sla.items()):
            sla.add_metric([provider], ratio)
        yield sla
        up = GaugeMetricFamily("factorwatch_store_up",
                               "1 when the last read of the store for this scrape worked.")
        try:
            rankings = self._read()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: cannot read rankings from the store: %s",
                        type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from ranking_families(rankings)


def ranking_families(rankings: list[dict[str, Any]]) -> Iterator[GaugeMetricFamily]:
    wc = ["workload", "candidate"]
    composite = GaugeMetricFamily("factorwatch_composite_score",
                                  "Weighted mean of the factor scores (1-5).", labels=wc)
    composite_low = GaugeMetricFamily(
        "factorwatch_composite_score_low", "Lower end of the composite's interval at the "
        "scoring confidence (scoring.confidence).", labels=wc)
    composite_high = GaugeMetricFamily(
        "factorwatch_composite_score_high", "Upper end of the composite's interval.", labels=wc)
    rank = GaugeMetricFamily("factorwatch_rank", "Rank in the workload (1 = first); absent for "
                             "gated candidates.", labels=wc)
    tied = GaugeMetricFamily("factorwatch_rank_tied", "1 when the candidate is statistically "
                             "tied with the one ranked just above it, else 0.", labels=wc)
    gated = GaugeMetricFamily("factorwatch_gated", "1 when a gate excludes the candidate.",
                              labels=wc)
    top = GaugeMetricFamily("factorwatch_top_choice",
                            "1 for the workload's announced top choice (it changes after "
                            "hysteresis, or at once when gated out), else 0.", labels=wc)
    factor = GaugeMetricFamily("factorwatch_factor_score", "Factor score (1-5).",
                               labels=[*wc, "factor", "source"])
    factor_low = GaugeMetricFamily("factorwatch_factor_score_low", "Lower end of the factor "
                                   "score's interval.", labels=[*wc, "factor"])
    factor_high = GaugeMetricFamily("factorwatch_factor_score_high", "Upper end of the factor "
                                    "score's interval.", labels=[*wc, "factor"])
    cost = GaugeMetricFamily("factorwatch_monthly_cost_usd",
                             "Estimated monthly cost of the workload's volume.", labels=wc)
    availability = GaugeMetricFamily(
        "factorwatch_availability_ratio",
        "Successful probes over probes that count, in the scoring window.",
        labels=["candidate"])
    state = GaugeMetricFamily(
        "factorwatch_candidate_state", "1 for the candidate's state now (serving, degraded, "
        "throttled, down, unknown: docs/scoring.md), 0 for the others.",
        labels=["candidate", "state"])
    throttled = GaugeMetricFamily(
        "factorwatch_throttled_ratio", "429s over successes and 429s among the latency and "
        "uptime probes, per availability window.", labels=["candidate", "window"])
    evaluated = GaugeMetricFamily("factorwatch_last_evaluation_timestamp_seconds",
                                  "When the workload was last scored.", labels=["workload"])
    seen: set[str] = set()  # candidate-level figures are the same in every workload
    for doc in rankings:
        workload = doc["workload"]
        for entry in doc["ranking"]:
            key = [workload, entry["candidate"]]
            gated.add_metric(key, 1 if entry["gated"] else 0)
            top.add_metric(key, 1 if entry["candidate"] == doc.get("top_choice") else 0)
            if entry["composite"] is not None:
                composite.add_metric(key, entry["composite"])
            if entry.get("composite_low") is not None and entry.get("composite_high") is not None:
                composite_low.add_metric(key, entry["composite_low"])
                composite_high.add_metric(key, entry["composite_high"])
            if entry["rank"] is not None:
                rank.add_metric(key, entry["rank"])
                tied.add_metric(key, 1 if entry.get("tied") else 0)
            for name, f in entry["factors"].items():
                if f["score"] is not None:
                    factor.add_metric([*key, name, f["source"]], f["score"])
                if f.get("low") is not None and f.get("high") is not None:
                    factor_low.add_metric([*key, name], f["low"])
                    factor_high.add_metric([*key, name], f["high"])
            monthly = entry["factors"].get("cost", {}).get("evidence", {}).get("monthly_usd")
            if monthly is not None:
                cost.add_metric(key, monthly)
            if entry["candidate"] not in seen:
                seen.add(entry["candidate"])
                _candidate_metrics(entry, availability, state, throttled)
        evaluated.add_metric([workload], _timestamp(doc["evaluated_at"]))
    yield from (composite, composite_low, composite_high, rank, tied, gated, top, factor,
                factor_low, factor_high, cost, availability, state, throttled, evaluated)


def _candidate_metrics(entry: dict[str, Any], availability: GaugeMetricFamily,
                       state: GaugeMetricFamily, throttled: GaugeMetricFamily) -> None:
    cid = entry["candidate"]
    evidence = entry["factors"].get("reliability", {}).get("evidence", {})
    if evidence.get("availability") is not None:
        availability.add_metric([cid], evidence["availability"])
    now = entry.get("state") or "unknown"
    for name in STATES:
        state.add_metric([cid, name], 1 if name == now else 0)
    for window, figures in (evidence.get("windows") or {}).items():
        if figures.get("throttled_share") is not None:
            throttled.add_metric([cid, window], figures["throttled_share"])


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


LOOP_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def loop_lag_histogram(registry: CollectorRegistry) -> Histogram:
    """How late a periodic sleep on the daemon's event loop wakes (service/looplag.py)."""
    return Histogram("factorwatch_event_loop_lag_seconds",
                     "How late a periodic asyncio.sleep on the daemon's event loop wakes up: "
                     "time the loop was busy elsewhere (it delays probe timestamps).",
                     buckets=LOOP_LAG_BUCKETS, registry=registry)


class OperationsCollector(Collector):
    """SLA per window, error budget, open incidents, prices and probe freshness, read from
    the store at scrape time (service/sla.py). Labels: config ids and the four windows."""

    def __init__(self, read: Callable[[], OpsSnapshot]) -> None:
        self._read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            snap = self._read()
        except Exception as exc:  # factorwatch_store_up already says the store is down
            log.warning("metrics: cannot read SLA figures: %s", type(exc).__name__)
            return
        yield from sla_families(snap)
        incidents = GaugeMetricFamily("factorwatch_incidents_open", "Open incidents the "
                                      "provider declared (maintenance excluded), from the store.",
                                      labels=["provider"])
        for provider, count in snap.incidents_open.items():
            incidents.add_metric([provider], count)
        price = GaugeMetricFamily("factorwatch_price_per_million_tokens_usd", "The candidate's "
                                  "current list price per million tokens.",
                                  labels=["candidate", "provider", "token"])
        for cid, p in sorted(snap.prices.items()):
            for token, value in (("input", p.input_per_mtok), ("output", p.output_per_mtok),
                                 ("cached_input", p.cached_input_per_mtok)):
                if value is not None:
                    price.add_metric([cid, snap.providers.get(cid, ""), token], value)
        last = GaugeMetricFamily("factorwatch_last_probe_timestamp_seconds", "When the "
                                 "candidate was last probed, by kind (Unix time, any replica).",
                                 labels=["candidate", "kind"])
        interval = GaugeMetricFamily("factorwatch_probe_interval_seconds", "How often the "
                                     "config asks for the probe.", labels=["candidate", "kind"])
        for (cid, kind), every in sorted(snap.probe_interval.items()):
            interval.add_metric([cid, kind], every)
            if (cid, kind) in snap.last_probe:
                last.add_metric([cid, kind], snap.last_probe[(cid, kind)].timestamp())
        yield from (incidents, price, last, interval)


def sla_families(snap: OpsSnapshot) -> Iterator[GaugeMetricFamily]:
    labels = ["candidate", "provider", "window"]
    ratio = GaugeMetricFamily("factorwatch_availability_window_ratio", "Successful probes over "
                              "probes that count (401/403 and 429 do not), per window.",
                              labels=labels)
    probes = GaugeMetricFamily("factorwatch_availability_window_probes",
                               "Probes that count towards availability, per window.",
                               labels=labels)
    remaining = GaugeMetricFamily("factorwatch_error_budget_remaining_ratio", "Share of the "
                                  "committed SLA's error budget left in the window (negative: "
                                  "overspent).", labels=labels)
    burn = GaugeMetricFamily("factorwatch_error_budget_burn_rate", "(1 - availability) / "
                             "(1 - committed SLA): 1 spends the budget exactly.", labels=labels)
    for row in snap.sla:
        for name, w in row.windows.items():
            key = [row.candidate, row.provider, name]
            probes.add_metric(key, w.stats.counted)
            if w.availability is not None:
                ratio.add_metric(key, w.availability)
            if w.error_budget_remaining is not None and w.burn_rate is not None:
                remaining.add_metric(key, w.error_budget_remaining)
                burn.add_metric(key, w.burn_rate)
    regional = GaugeMetricFamily("factorwatch_availability_region_ratio", "Availability as "
                                 "one region's replicas measured it (1h and 24h windows).",
                                 labels=["candidate", "provider", "region", "window"])
    for (cid, region, window), stats in sorted(snap.by_region.items()):
        if stats.ratio is not None:
            regional.add_metric([cid, snap.providers.get(cid, ""), region, window], stats.ratio)
    yield from (ratio, probes, remaining, burn, regional)



class SourceMetrics:
    """Status pages and price lists: polls, health, what they yielded, declared vs observed.

    `source` is a configured URL or path (bounded by the config); `kind` is status or pricing.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        src = ["kind", "source"]
        self.polls = Counter(
            "factorwatch_source_polls", "Polls of status pages and price lists, by result: ok, "
            "not_modified, or the failure (timeout, network, http_status, too_large, missing, "
            "parse_error, store_error).", [*src, "result"], registry=registry)
        self.up = Gauge("factorwatch_source_up", "1 when the source's last poll was answered "
                        "and read, else 0.", src, registry=registry)
        self.last_success = Gauge(
            "factorwatch_source_last_success_timestamp_seconds",
            "When the source last answered and was read (Unix time).", src, registry=registry)
        self.rejected = Counter(
            "factorwatch_source_entries_rejected", "Entries of a source that were skipped or "
            "refused (an incident without an id, a missing, negative or absurd price).", src,
            registry=registry)
        self.price_points = Counter(
            "factorwatch_price_points_recorded", "Price points recorded because a price "
            "changed or first became known, by source.", ["source"], registry=registry)
        self.outage_seconds = Gauge(
            "factorwatch_outage_seconds", "Over the last 24 hours, per provider: time covered "
            "by declared incidents, by observed outage (probes failing, the monitor's own "
            "outages excluded), and by observed outages nobody declared.",
            ["provider", "measure"], registry=registry)
        self.detection_lead = Gauge(
            "factorwatch_outage_detection_lead_seconds", "Median, over the last 24 hours' "
            "declared outages, of the provider's declaration time minus our first failed "
            "minute (positive: we saw it first).", ["provider"], registry=registry)
