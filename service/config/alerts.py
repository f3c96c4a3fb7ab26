"""The `alerts` section: the flip rule, sinks with their filters, silences, maintenance
windows, links, delivery and the conditions factorwatch watches.

Sink types and event types are checked against their registries (service/alerts), not
against a second list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from service.config.errors import Loc, _known
from service.config.fields import EnvName, HttpUrl, NonEmpty, PositiveDuration, _resolve_secret
from service.durations import parse_duration
from service.sinks.events import EVENT_TYPES
from service.sinks.registry import SIGNED, SINKS

Severity = Literal["info", "warning", "critical"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WaitDuration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _sink_type(value: str) -> str:
    if value not in SINKS:
        raise ValueError(f"unknown sink type {value!r} (known: {_known(SINKS)})")
    return value


def _event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type {value!r} (known: {_known(EVENT_TYPES)})")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-01-31T22:00:00Z")
    return value


SinkType = Annotated[str, AfterValidator(_sink_type)]
EventTypeName = Annotated[str, AfterValidator(_event_type)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class FlipConfig(_Strict):
    margin: Annotated[float, Field(ge=0)] = 0.1
    confirmations: Annotated[int, Field(ge=1)] = 3
    # The least chance that a challenger is truly ahead before it counts as leading; below
    # it two candidates are marked tied in rankings (docs/scoring.md).
    confidence: Annotated[float, Field(ge=0.5, lt=1)] = 0.9


class Matchers(_Strict):
    """Which events: each list left empty matches everything; all given lists must match."""

    types: list[EventTypeName] = []
    workloads: list[NonEmpty] = []
    providers: list[NonEmpty] = []
    candidates: list[NonEmpty] = []


class SilenceConfig(Matchers):
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    comment: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> SilenceConfig:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class MaintenanceConfig(Matchers):
    """A weekly window, e.g. Sundays 02:00 for 2h in Europe/Berlin."""

    weekdays: list[Weekday] = []  # empty: every day
    start: time
    duration: Annotated[float, BeforeValidator(parse_duration), Field(gt=0, le=7 * 86400)]
    timezone: str = "UTC"
    comment: str = ""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SinkConfig(_Strict):
    type: SinkType
    name: str | None = None  # defaults to the type; a metric label, so short and plain
    webhook_url_env: EnvName | None = None
    webhook_url_file: str | None = None
    secret_env: EnvName | None = None  # HMAC key of the webhook sink
    secret_file: str | None = None
    events: list[EventTypeName] = []
    workloads: list[NonEmpty] = []
    providers: list[NonEmpty] = []
    min_severity: Severity = "info"
    group_wait: WaitDuration = 30.0
    repeat_interval: WaitDuration = 3600.0
    max_group: Annotated[int, Field(ge=1, le=50)] = 20
    timeout: PositiveDuration = 10.0

    @field_validator("name")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-'")
        return value

    @model_validator(mode="after")
    def _sources(self) -> SinkConfig:
        if self.webhook_url_env and self.webhook_url_file:
            raise ValueError("set only one of webhook_url_env and webhook_url_file")
        if self.secret_env and self.secret_file:
            raise ValueError("set only one of secret_env and secret_file")
        signs = self.type in SIGNED
        if signs and not (self.secret_env or self.secret_file):
            raise ValueError(f"a {self.type} sink signs what it sends: set secret_env or "
                             "secret_file")
        if not signs and (self.secret_env or self.secret_file):
            raise ValueError(f"a {self.type} sink does not sign: remove secret_env/secret_file")
        return self

    @property
    def id(self) -> str:
        return self.name or self.type

    def resolve_webhook_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        return _resolve_secret(self.webhook_url_env, self.webhook_url_file, environ)

    def resolve_secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        return _resolve_secret(self.secret_env, self.secret_file, environ)


class LinksConfig(_Strict):
    dashboard_url: NonEmpty | None = None  # may use {workload}, {candidate}, {provider}
    api_url: HttpUrl | None = None


class DeliveryConfig(_Strict):
    every: PositiveDuration = 5.0
    retry_initial: PositiveDuration = 10.0
    retry_max: PositiveDuration = 600.0
    max_age: PositiveDuration = 86400.0
    claim_timeout: PositiveDuration = 300.0


class BurnRateConfig(_Strict):
    long: PositiveDuration
    short: PositiveDuration
    factor: Annotated[float, Field(gt=0)]
    severity: Severity = "warning"

    @model_validator(mode="after")
    def _short_is_shorter(self) -> BurnRateConfig:
        if self.short >= self.long:
            raise ValueError("short must be shorter than long")
        return self


# The SRE workbook's pair: 2% of a 30-day budget in an hour pages, 5% in six hours tickets.
DEFAULT_BURN_RATES = [BurnRateConfig(long=3600, short=300, factor=14.4, severity="critical"),
                      BurnRateConfig(long=21600, short=1800, factor=6, severity="warning")]


class ConditionsConfig(_Strict):
    every: PositiveDuration = 60.0
    burn_rates: list[BurnRateConfig] = DEFAULT_BURN_RATES
    min_probes: Annotated[int, Field(ge=1)] = 10  # in a burn-rate window, to judge it
    probe_failing_after: Annotated[int, Field(ge=1)] = 3  # consecutive auth/config failures


class AlertsConfig(_Strict):
    flip: FlipConfig = FlipConfig()
    sinks: list[SinkConfig] = []
    silences: list[SilenceConfig] = []
    maintenance: list[MaintenanceConfig] = []
    links: LinksConfig = LinksConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    conditions: ConditionsConfig = ConditionsConfig()

    @model_validator(mode="after")
    def _claim_outlasts_sends(self) -> AlertsConfig:
        # (Distinct sink names are checked on the raw config, in checks.py.)
        longest = max((s.timeout for s in self.sinks), default=0.0)
        if self.delivery.claim_timeout <= 2 * longest:
            raise ValueError("delivery.claim_timeout must be more than twice the longest sink "
                             "timeout, or a slow send could be claimed again")
        return self


def unknown_references(data: Mapping[str, Any]) -> list[tuple[Loc, str]]:
    """Ids in sink filters, silences and maintenance windows that the config does not define:
    a typo there would silently match nothing."""
    alerts = data.get("alerts")
    if not isinstance(alerts, dict):
        return []
    known = {key: {k for k in data.get(key) or {} if isinstance(k, str)}
             for key in ("workloads", "providers", "candidates")}
    found: list[tuple[Loc, str]] = []
    for section in ("sinks", "silences", "maintenance"):
        items = alerts.get(section)
        for i, item in enumerate(items if isinstance(items, list) else []):
            for key, names in known.items():
                values = item.get(key) if isinstance(item, dict) else None
                for j, value in enumerate(values if isinstance(values, list) else []):
                    if isinstance(value, str) and value not in names:
                        found.append((("alerts", section, i, key, j),
                                      f"unknown {key[:-1]} {value!r} (known: {_known(names)})"))
    return found
