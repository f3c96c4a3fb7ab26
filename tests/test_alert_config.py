"""The `alerts` config: one invalid file per rule with the exact message, and a file that
uses every key."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import ConfigError, load_settings
from service.sinks.events import EVENT_TYPES

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
        "alerts.sinks.0: a slack sink does not sign: remove secret_env/secret_file"],
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
