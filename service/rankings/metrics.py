"""Scoring's instruments, and the latest stored rankings exported at scrape time
(docs/metrics.md). Labels: workload, candidate and factor ids from the config."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.rankings.routing import build_routing
from service.rankings.saved import latest_rankings
from service.scoring.states import STATES

log = logging.getLogger(__name__)


class RankingMetrics:
    """Scoring passes, announced top-choice changes, and saved rankings pruned."""

    def __init__(self, registry: CollectorRegistry, workloads: list[str]) -> None:
        self.scoring_runs = Counter(
            "factorwatch_scoring_runs", "Scoring passes, by result.", ["result"],
            registry=registry)
        self.top_choice_changes = Counter(
            "factorwatch_top_choice_changes",
            "Announced changes of a workload's top choice (after hysteresis, or at once when "
            "the incumbent is gated out).", ["workload"], registry=registry)
        self.pruned_rankings = Counter(
            "factorwatch_store_pruned_rankings",
            "Saved rankings deleted by the retention job: thinned (not the first of their "
            "hour, older than retention.rankings_full) or expired (older than "
            "retention.rankings).", ["reason"], registry=registry)
        # At 0 from the start, so that increase() sees the first.
        for reason in ("thinned", "expired"):
            self.pruned_rankings.labels(reason)
        for workload in workloads:
            self.top_choice_changes.labels(workload)


def latest_rankings_reader(engine: Engine) -> Callable[[], list[dict[str, Any]]]:
    """What StoreCollector reads at each scrape: the latest saved ranking of every workload."""
    def read() -> list[dict[str, Any]]:
        with Session(engine) as session:
            return latest_rankings(session)
    return read


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
    position = GaugeMetricFamily(
        "factorwatch_routing_position", "Position in the workload's routing order (1 = tried "
        "first); absent when the candidate may not serve it now (docs/routing.md).", labels=wc)
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
        routing = build_routing(workload, doc["ranking"], None,
                                datetime.fromisoformat(doc["evaluated_at"]))
        for routed in routing.order:
            position.add_metric([workload, routed.candidate], routed.position)
    yield from (composite, composite_low, composite_high, rank, tied, gated, top, factor,
                factor_low, factor_high, cost, availability, state, throttled, evaluated,
                position)


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
