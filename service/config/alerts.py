"""The `alerts` section: the flip rule, sinks with their filters, silences, maintenance
windows, links, delivery and the conditions factorwatch watches.

Each sink entry is validated by its own type's model from the registry (service/sinks), and
event types by theirs: no second list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from service.config.errors import Loc, _known
from service.config.fields import HttpUrl, NonEmpty, PositiveDuration
from service.durations import parse_duration
from service.sinks.config import EventTypeName, Severity, SinkConfig
from service.sinks.registry import SINKS

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _sink_type(value: str) -> str:
    if value not in SINKS:
        raise ValueError(f"unknown sink type {value!r} (known: {_known(SINKS)})")
    return value


class _SinkType(BaseModel):
    """Only an entry's `type`, read first: it chooses the model for the rest."""

    type: Annotated[str, AfterValidator(_sink_type)]


def _readers(err: ErrorDetails) -> list[str]:
    """For an unknown key in a sink entry: the sink types that do read it."""
    if err["type"] != "extra_forbidden" or len(err["loc"]) != 1:
        return []
    return [name for name, kind in sorted(SINKS.items())
            if err["loc"][0] in kind.config.model_fields]


def _reported(err: ErrorDetails, kind: str) -> InitErrorDetails:
    """The error as pydantic gave it, or, for a key another sink type reads, said so (as
    for probe options): `slack sinks do not read secret_env (webhook sinks do)`."""
    if readers := _readers(err):
        text = f"{kind} sinks do not read {err['loc'][0]} ({' and '.join(readers)} sinks do)"
        return {"type": PydanticCustomError("value_error", "{error}", {"error": text}),
                "loc": err["loc"], "input": err["input"]}
    details: InitErrorDetails = {"type": err["type"], "loc": err["loc"], "input": err["input"]}
    if "ctx" in err:
        details["ctx"] = err["ctx"]
    return details


def _as_its_type(value: Any, handler: ValidatorFunctionWrapHandler) -> SinkConfig:
    """Validate an `alerts.sinks[]` entry with the model SINKS gives its `type`.

    Chosen here, when validating, rather than by pydantic's union: a wrong type is then
    named at `type` with the known ones, errors inside are located as written (pydantic's
    union would add the type to each location), and any type in SINKS is accepted. The
    union's own validation (`handler`) is not used.
    """
    if isinstance(value, SinkConfig):
        return value
    kind = _SinkType.model_validate(value).type
    try:
        return SINKS[kind].config.model_validate(value)
    except ValidationError as exc:
        if not any(_readers(err) for err in exc.errors()):
            raise
        raise ValidationError.from_exception_data(
            exc.title, [_reported(err, kind) for err in exc.errors()]) from None


# One sink entry: the registered sinks' models as a union on `type` (for type checkers,
# schemas, serialization and docs/config.md's key check), validated by `_as_its_type`.
if TYPE_CHECKING:
    AnySinkConfig = SinkConfig
else:
    AnySinkConfig = Annotated[Union[tuple(kind.config for kind in SINKS.values())],  # noqa: UP007
                              Field(discriminator="type"), WrapValidator(_as_its_type)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-01-31T22:00:00Z")
    return value


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
    sinks: list[AnySinkConfig] = []
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
