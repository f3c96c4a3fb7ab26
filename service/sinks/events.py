"""The events factorwatch announces: the type catalogue, what each event is about, its identity.

Producers save rows in the outbox (service/store/outbox.py). Here a row becomes an
AlertEvent that knows its family (a condition's firing and resolved types share one), the
workload, candidates and providers it concerns (for filters and silences), the key under
which repeats are limited, and the identity that ties a firing to its resolution.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.store.outbox import SEVERITIES

__all__ = ["EVENT_TYPES", "SEVERITIES", "AlertEvent", "EventType", "event_type",
           "severity_rank"]


@dataclass(frozen=True)
class EventType:
    family: str
    title: str
    resolution: bool = False  # ends what the family's firing type started
    subject: tuple[str, ...] = ("workload", "candidate", "provider")  # payload fields
    condition: bool = False  # the family has a resolution: firing and resolved share identity


_CANDIDATE = ("candidate",)
_INCIDENT = ("provider", "external_id")

EVENT_TYPES: dict[str, EventType] = {
    "top_choice_changed": EventType("top_choice", "Top choice changed", subject=("workload",)),
    "sla_breach": EventType("sla_breach", "SLA error budget burning fast", subject=_CANDIDATE,
                            condition=True),
    "sla_breach_resolved": EventType("sla_breach", "SLA burn rate back under the threshold",
                                     resolution=True, subject=_CANDIDATE, condition=True),
    "error_budget_exhausted": EventType("error_budget_exhausted",
                                        "30-day error budget exhausted", subject=_CANDIDATE,
                                        condition=True),
    "error_budget_exhausted_resolved": EventType(
        "error_budget_exhausted", "30-day availability back within the SLA", resolution=True,
        subject=_CANDIDATE, condition=True),
    "probe_failing": EventType("probe_failing", "Probes fail: a key or the config needs fixing",
                               subject=_CANDIDATE, condition=True),
    "probe_failing_resolved": EventType("probe_failing", "Probes succeed again",
                                        resolution=True, subject=_CANDIDATE, condition=True),
    "incident_opened": EventType("incident", "Incident declared", subject=_INCIDENT,
                                 condition=True),
    "incident_updated": EventType("incident", "Incident updated", subject=_INCIDENT,
                                  condition=True),
    "incident_resolved": EventType("incident", "Incident resolved", resolution=True,
                                   subject=_INCIDENT, condition=True),
    "outage_undeclared": EventType("outage_undeclared", "Outage not on the status page",
                                   subject=("provider",)),
    "price_change": EventType("price_change", "Price changed", subject=_CANDIDATE),
    "status_source_stale": EventType("status_source_stale", "Status source unreadable",
                                     subject=("provider", "source")),
    "model_retired": EventType("model_retired", "Model gone from its model or price list",
                               subject=("candidate", "list")),
    "routing_changed": EventType("routing", "Routing order changed", subject=("workload",)),
    "latency_degraded": EventType("latency_degraded", "Latency degraded against its baseline",
                                  subject=_CANDIDATE, condition=True),
    "latency_degraded_resolved": EventType("latency_degraded", "Latency back near its baseline",
                                           resolution=True, subject=_CANDIDATE, condition=True),
    "sla_month_at_risk": EventType("sla_month_at_risk", "Month on course to breach the SLA",
                                   subject=("provider", "month")),
}


def event_type(name: str) -> EventType:
    """The catalogue entry; a type saved by a newer producer is still delivered, generically."""
    known = EVENT_TYPES.get(name)
    if known is not None:
        return known
    family = name.removesuffix("_resolved")
    return EventType(family, name.replace("_", " ").capitalize(), resolution=family != name)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


@dataclass(frozen=True)
class AlertEvent:
    """An outbox row as the sinks and the router see it."""

    id: int
    type: str
    severity: str
    key: str  # the row's dedup_key: stable, unique
    created_at: datetime
    payload: Mapping[str, Any]
    providers: tuple[str, ...] = ()  # resolved through the config's candidate -> provider map
    kind: EventType = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", event_type(self.type))

    @classmethod
    def of(cls, id_: int, type_: str, severity: str, key: str, created_at: datetime,
           payload: Mapping[str, Any], provider_of: Mapping[str, str]) -> AlertEvent:
        cands = _candidates(payload)
        named = payload.get("provider")
        providers = [named] if isinstance(named, str) else []
        providers += [provider_of[c] for c in cands if c in provider_of]
        return cls(id_, type_, severity, key, created_at, payload,
                   tuple(dict.fromkeys(providers)))

    @property
    def resolved(self) -> bool:
        return self.kind.resolution

    @property
    def workload(self) -> str | None:
        value = self.payload.get("workload")
        return value if isinstance(value, str) else None

    @property
    def candidates(self) -> tuple[str, ...]:
        return _candidates(self.payload)

    @property
    def subject(self) -> str:
        """What the event is about, e.g. `workload=chat` or `provider=openai,external_id=x`."""
        return ",".join(f"{name}={self.payload.get(name)}" for name in self.kind.subject
                        if self.payload.get(name) is not None)

    @property
    def repeat_key(self) -> str:
        """Events with the same repeat key are repeats of one another (min repeat interval)."""
        return f"{self.kind.family}|{self.subject}"[:300]

    @property
    def identity(self) -> str:
        """Shared by a condition's firing, updates and resolution; else the event's own key."""
        if self.kind.condition:
            return self.repeat_key
        return self.key


def _candidates(payload: Mapping[str, Any]) -> tuple[str, ...]:
    found = [payload.get(name) for name in ("candidate", "old", "new")]
    return tuple(dict.fromkeys(c for c in found if isinstance(c, str)))
