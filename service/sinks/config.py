"""The options every sink reads: the base of each sink's own config model.

Each sink module declares `<Name>Config(SinkConfig)` with `type: Literal["<name>"]` and the
options only that sink reads; service/sinks/registry.py pairs it with the sink class, and
`alerts.sinks[]` validates an entry with the model its `type` names (service/config/alerts.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from service.durations import parse_duration
from service.secrets import EnvName, read_secret
from service.sinks.events import EVENT_TYPES

Severity = Literal["info", "warning", "critical"]
WaitDuration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
Timeout = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]
NonEmpty = Annotated[str, Field(min_length=1)]


def _event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type {value!r} (known: {', '.join(sorted(EVENT_TYPES))})")
    return value


EventTypeName = Annotated[str, AfterValidator(_event_type)]


class SinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str  # each sink's model narrows it to its own name
    name: str | None = None  # defaults to the type; a metric label, so short and plain
    webhook_url_env: EnvName | None = None
    webhook_url_file: str | None = None
    events: list[EventTypeName] = []
    workloads: list[NonEmpty] = []
    providers: list[NonEmpty] = []
    min_severity: Severity = "info"
    group_wait: WaitDuration = 30.0
    repeat_interval: WaitDuration = 3600.0
    max_group: Annotated[int, Field(ge=1, le=50)] = 20
    timeout: Timeout = 10.0

    @field_validator("name")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-'")
        return value

    @model_validator(mode="after")
    def _one_url_source(self) -> SinkConfig:
        if self.webhook_url_env and self.webhook_url_file:
            raise ValueError("set only one of webhook_url_env and webhook_url_file")
        return self

    @property
    def id(self) -> str:
        return self.name or self.type

    def resolve_webhook_url(self, environ: Mapping[str, str] | None = None) -> str | None:
        return read_secret(self.webhook_url_env, self.webhook_url_file, environ)

    def resolve_secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The key the sink signs with: none, unless its model adds one (webhook.py)."""
        return None
