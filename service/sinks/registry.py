"""Sinks by type: the one list `alerts.sinks[]` is validated against and sinks are built from.

A sink is one module, with its config model and its class, plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.sinks.alertmanager import AlertmanagerConfig, AlertmanagerSink
from service.sinks.base import Sink, SinkSpec
from service.sinks.config import SinkConfig
from service.sinks.slack import SlackConfig, SlackSink
from service.sinks.webhook import WebhookConfig, WebhookSink


@dataclass(frozen=True)
class SinkKind:
    config: type[SinkConfig]  # validates a config entry of this type: its own options
    sink: Callable[[SinkSpec], Sink]


SINKS: dict[str, SinkKind] = {
    "slack": SinkKind(SlackConfig, SlackSink),
    "webhook": SinkKind(WebhookConfig, WebhookSink),
    "alertmanager": SinkKind(AlertmanagerConfig, AlertmanagerSink),
}


def build_sink(spec: SinkSpec) -> Sink:
    return SINKS[spec.type].sink(spec)
