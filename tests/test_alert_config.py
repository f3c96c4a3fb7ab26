"""The `alerts` config: one invalid file per rule with the exact message, and a file that
uses every key."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from service.alerts.setup import sink_spec
from service.config import ConfigError, load_settings
from service.sinks.base import Message, SinkSpec
from service.sinks.config import SinkConfig
from service.sinks.events import EVENT_TYPES
from service.sinks.registry import SINKS, SinkKind, build_sink

HERE = Path(__file__).parent
INVALID = HERE / "config_invalid_alerts"
EVENTS = ", ".join(sorted(EVENT_TYPES))

CASES: dict[str, list[str]] = {
    "sink_type_unknown": [
        "alerts.sinks.0.type: unknown sink type 'pagerduty' (known: alertmanager, slack, webhook)"],
    "event_type_unknown": [
        f"alerts.sinks.0.events.0: unknown event type 'sla_breech' (known: {EVENTS})"],
    "webhook_without_secret": [
        "alerts.sinks.0: a webhook sink signs what it sends: set secret_env or secret_file"],
    "slack_with_secret": [
        "alerts.sinks.0.secret_env: slack sinks do not read secret_env (webhook sinks do)"],
    "alertmanager_with_secret": [
        "alerts.sinks.0.max_group: must be >= 1",
        "alerts.sinks.0.secret_file: alertmanager sinks do not read secret_file "
        "(webhook sinks do)"],
    "sink_type_missing": ["alerts.sinks.0.type: required"],
    "sink_key_unknown": ["alerts.sinks.0.chanel: unknown key"],
    "sink_values_bad": ["alerts.sinks.0.group_wait: invalid duration 'soon'",
                        "alerts.sinks.1.max_group: must be <= 50"],
    "sink_names_twice": ["alerts: two sinks are named 'slack': give each a distinct name"],
    "secret_in_config": [
        "alerts.sinks.0.secret: a secret never goes in the config; use secret_env or "
        "secret_file"],
    "silence_without_zone": [
        "alerts.silences.0.starts_at: give a time zone, e.g. 2026-01-31T22:00:00Z"],
    "silence_backwards": ["alerts.silences.0: ends_at must be after starts_at"],
    "maintenance_zone_unknown": [
        "alerts.maintenance.0.timezone: unknown time zone 'Mars/Olympus'"],
    "filter_workload_unknown": [
        "alerts.sinks.0.workloads.0: unknown workload 'chatt' (known: chat)"],
    "burn_short_not_shorter": [
        "alerts.conditions.burn_rates.0: short must be shorter than long"],
    "claim_timeout_too_short": [
        "alerts: delivery.claim_timeout must be more than twice the longest sink timeout, "
        "or a slow send could be claimed again"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_alerts_config_reports_exactly_its_errors(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(INVALID / f"{name}.yaml", environ={})
    assert err.value.errors == CASES[name]


def test_every_invalid_alerts_file_has_a_case() -> None:
    assert sorted(p.stem for p in INVALID.glob("*.yaml")) == sorted(CASES)


def test_every_alerts_key_loads_and_keeps_its_meaning() -> None:
    alerts = load_settings(HERE / "config_valid" / "alerts_everything.yaml", environ={}).alerts
    assert [s.id for s in alerts.sinks] == ["ops-slack", "webhook", "alertmanager"]
    assert alerts.sinks[0].group_wait == 30 and alerts.sinks[2].repeat_interval == 0
    assert alerts.maintenance[0].duration == 7200
    assert [(r.long, r.short, r.severity) for r in alerts.conditions.burn_rates] == [
        (3600, 300, "critical"), (21600, 1800, "warning")]


def test_sink_secrets_resolve_from_the_environment_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("https://hooks.example/abc\n")
    path = tmp_path / "c.yaml"
    path.write_text("builtin_catalog: false\nalerts:\n  sinks:\n"
                    f"    - {{type: webhook, webhook_url_file: {tmp_path / 'url'}, "
                    "secret_env: HOOK_SECRET}\n")
    sink = load_settings(path, environ={}).alerts.sinks[0]
    assert sink.resolve_webhook_url({}) == "https://hooks.example/abc"
    assert sink.resolve_secret({"HOOK_SECRET": "k"}) == "k"


def test_each_sink_type_has_its_own_model_with_its_own_options() -> None:
    for name, kind in SINKS.items():
        assert typing.get_args(kind.config.model_fields["type"].annotation) == (name,)
    signers = sorted(n for n, k in SINKS.items() if "secret_env" in k.config.model_fields)
    assert signers == ["webhook"]
    alerts = load_settings(HERE / "config_valid" / "alerts_everything.yaml", environ={}).alerts
    assert [type(s) for s in alerts.sinks] == [SINKS[s.type].config for s in alerts.sinks]


class PagerConfig(SinkConfig):
    """A throwaway sink type with an option of its own."""

    type: Literal["pager"]
    routing_key_env: str


class PagerSink:
    def __init__(self, spec: SinkSpec) -> None:
        self.spec = spec

    def validate(self) -> None:
        pass

    def build_payload(self, message: Message) -> Any:
        assert isinstance(self.spec.config, PagerConfig)
        return {"key": self.spec.config.routing_key_env}

    async def send(self, message: Message, client: httpx.AsyncClient) -> None:
        pass


def test_a_new_sink_is_one_module_and_one_registry_line(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry entry alone makes the config accept the type and its options, name it
    among the known types, and the sender build it with its options."""
    path = tmp_path / "c.yaml"
    path.write_text("builtin_catalog: false\nalerts:\n  sinks:\n"
                    "    - {type: pager, webhook_url_env: PAGER_URL, routing_key_env: PAGER_KEY,"
                    " group_wait: 5s}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert err.value.errors == [
        "alerts.sinks.0.type: unknown sink type 'pager' (known: alertmanager, slack, webhook)"]

    monkeypatch.setitem(SINKS, "pager", SinkKind(PagerConfig, PagerSink))
    alerts = load_settings(path, environ={}).alerts
    cfg = alerts.sinks[0]
    assert isinstance(cfg, PagerConfig)
    assert (cfg.id, cfg.routing_key_env, cfg.group_wait) == ("pager", "PAGER_KEY", 5.0)
    sink = build_sink(sink_spec(cfg, alerts, {"PAGER_URL": "https://pager.example/x"}))
    assert isinstance(sink, PagerSink) and sink.spec.url == "https://pager.example/x"
    assert sink.build_payload(Message("k", ())) == {"key": "PAGER_KEY"}

    path.write_text("builtin_catalog: false\nalerts:\n  sinks:\n"
                    "    - {type: slack, webhook_url_env: U, routing_key_env: K}\n"
                    "    - {type: nope}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path, environ={})
    assert err.value.errors == [
        "alerts.sinks.0.routing_key_env: slack sinks do not read routing_key_env "
        "(pager sinks do)",
        "alerts.sinks.1.type: unknown sink type 'nope' (known: alertmanager, pager, slack, "
        "webhook)"]
