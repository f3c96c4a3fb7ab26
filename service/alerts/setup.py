"""From the `alerts` config to what routing and the sinks work with."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from service.alerts.routing import Maintenance, Matchers, Silence, SinkRule
from service.config.alerts import AlertsConfig, LinksConfig
from service.sinks.base import SinkSpec
from service.sinks.config import SinkConfig
from service.sinks.render import Links


def sink_rule(cfg: SinkConfig) -> SinkRule:
    return SinkRule(name=cfg.id, filters=Matchers.of(cfg.events, cfg.workloads, cfg.providers),
                    min_severity=cfg.min_severity,
                    group_wait=timedelta(seconds=cfg.group_wait),
                    repeat_interval=timedelta(seconds=cfg.repeat_interval),
                    max_group=cfg.max_group)


def links(cfg: LinksConfig) -> Links:
    return Links(dashboard=cfg.dashboard_url, api=cfg.api_url)


def sink_spec(cfg: SinkConfig, alerts: AlertsConfig, environ: Mapping[str, str]) -> SinkSpec:
    """The sink with its secrets read (from the environment or files; never logged) and its
    own config model, which holds any option only that sink reads."""
    return SinkSpec(name=cfg.id, type=cfg.type, url=cfg.resolve_webhook_url(environ),
                    secret=cfg.resolve_secret(environ), links=links(alerts.links),
                    timeout=cfg.timeout, config=cfg)


def configured_quiet(alerts: AlertsConfig) -> list[Silence | Maintenance]:
    """Silences and maintenance windows from the config (the API's live in the store)."""
    out: list[Silence | Maintenance] = []
    for i, s in enumerate(alerts.silences):
        out.append(Silence(Matchers.of(s.types, s.workloads, s.providers, s.candidates),
                           s.starts_at, s.ends_at,
                           f"alerts.silences[{i}]: {s.comment}".rstrip(": ")))
    for i, m in enumerate(alerts.maintenance):
        out.append(Maintenance(Matchers.of(m.types, m.workloads, m.providers, m.candidates),
                               m.start, timedelta(seconds=m.duration), m.timezone,
                               frozenset(m.weekdays),
                               f"alerts.maintenance[{i}]: {m.comment}".rstrip(": ")))
    return out
