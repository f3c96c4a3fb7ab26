"""SLA per window, error budget, open incidents, prices and probe freshness, exported from
the store at scrape time (docs/metrics.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.config import Settings
from service.sla.figures import OpsSnapshot, ops_snapshot

log = logging.getLogger(__name__)


def operations_reader(engine: Engine, settings: Settings) -> Callable[[], OpsSnapshot]:
    """What OperationsCollector reads at each scrape."""
    def read() -> OpsSnapshot:
        with Session(engine) as session:
            return ops_snapshot(session, settings, datetime.now(UTC))
    return read


class OperationsCollector(Collector):
    """SLA per window, error budget, open incidents, prices and probe freshness, read from
    the store at scrape time (service/sla/figures.py). Labels: config ids and the four windows."""

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
