"""Sinks by name: the one list the config validates `alerts.sinks[].type` against."""

from __future__ import annotations

from collections.abc import Callable

from service.sinks.alertmanager import AlertmanagerSink
from service.sinks.base import Sink, SinkSpec
from service.sinks.slack import SlackSink
from service.sinks.webhook import WebhookSink

SINKS: dict[str, Callable[[SinkSpec], Sink]] = {
    "slack": SlackSink,
    "webhook": WebhookSink,
    "alertmanager": AlertmanagerSink,
}
# Sinks that sign what they send and so need `secret_env` or `secret_file`.
SIGNED = frozenset({"webhook"})


def build_sink(spec: SinkSpec) -> Sink:
    return SINKS[spec.type](spec)
