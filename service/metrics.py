"""What every part's metrics share: one registry per daemon, built here.

Each subsystem declares its own instruments beside it (service/probing/metrics.py,
service/rankings/metrics.py, ...); docs/metrics.md lists every name. Figures that live in
the database are read by collectors at scrape time, so /metrics shows what the store
holds, including what another replica wrote. Labels are bounded: candidate, provider,
workload and factor ids come from the config, never from request data.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Info, disable_created_metrics


def new_registry(version: str) -> CollectorRegistry:
    """A registry with the build's info in it."""
    # The *_created series double the series count and no dashboard reads them.
    # (A process-wide switch in client_python: it is set by whoever builds the metrics.)
    disable_created_metrics()
    registry = CollectorRegistry()
    Info("factorwatch_build", "Build information.", registry=registry).info({"version": version})
    return registry
